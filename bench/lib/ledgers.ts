import { Test } from '@nestjs/testing';
import type Redis from 'ioredis';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeySpace } from '@kernel/core';
import { RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { AtomicStrategy } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger, Transfer } from '../../src/accounts/accounts.port';
import { AccountKeys } from '../../src/accounts/keys';

/** Opening balance of every bench account: transfers of 1 never run out of funds within a bench run. */
export const BALANCE = 1e12;
export const KEY_PREFIX = 'ra';

export interface BenchLedger {
  strategy: AtomicStrategy;
  ledger: AccountsLedger;
  close(): Promise<void>;
}

/** A ledger wired as in production: RedisAtomicModule.forRoot + AccountsModule.forRoot (port only, no HTTP). */
export async function benchLedger(strategy: AtomicStrategy, url: string, ledger: string,
  redisOptions: Partial<RedisAtomicOptions> = {}): Promise<BenchLedger> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url, ...redisOptions })];
  const moduleRef = await Test.createTestingModule({
    imports: [...redis, AccountsModule.forRoot({ strategy, ledger, http: false })],
  }).compile();
  await moduleRef.init();
  return { strategy, ledger: moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER), close: () => moduleRef.close() };
}

export const accountKeys = (ledger: string) => new AccountKeys(new KeySpace(KEY_PREFIX, ledger));

export const accountIds = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}${i}`);

/**
 * Creates accounts in the layout of lua/accounts.lua (HASH b, m) with pipelined HSET: 1M accounts in seconds.
 * Through the port it would be one FCALL each.
 */
export async function populate(client: Redis, ledger: string, ids: readonly string[], balance = BALANCE): Promise<void> {
  const keys = accountKeys(ledger);
  const chunk = 10_000;
  const inFlight = 4;
  for (let i = 0; i < ids.length; i += chunk * inFlight) {
    const pipelines = [];
    for (let j = i; j < Math.min(ids.length, i + chunk * inFlight); j += chunk) {
      const pipeline = client.pipeline();
      for (const id of ids.slice(j, j + chunk)) pipeline.hset(keys.account(id), 'b', balance, 'm', 0);
      pipelines.push(pipeline.exec());
    }
    await Promise.all(pipelines);
  }
}

/** Loads bench/minimal.lua (library bench_minimal: the floor, the ablation ladder, the previous stream design). */
export async function loadBenchLibrary(client: Redis): Promise<void> {
  await client.call('FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(__dirname, '..', 'minimal.lua'), 'utf8'));
}

/**
 * The ARGV lua/accounts.lua's write functions take before their own: none up to library version 3; from
 * version 4, the idempotency pair (fingerprint '' = no idempotency key, record TTL), as the functions adapter
 * sends it without a key. Found by one accounts_transfer on two scratch accounts (a wrong layout fails in
 * its checks, before any write), so the bench's bare FCALLs match whichever version is loaded.
 */
export async function writeArgvPrefix(client: Redis): Promise<(string | number)[]> {
  const ledger = 'argv-probe';
  const keys = accountKeys(ledger);
  await populate(client, ledger, ['p0', 'p1']);
  const reasons: string[] = [];
  for (const prefix of [[], ['', 0]]) {
    try {
      await client.call('FCALL', 'accounts_transfer', 5, keys.account('p0'), keys.account('p1'), keys.history('p0'), keys.history('p1'),
        keys.events, ...prefix, 1, '', 'probe', 1000, 'p0', 'p1', 100_000);
      return prefix;
    } catch (err) {
      reasons.push((err as Error).message);
    }
  }
  throw new Error(`accounts_transfer takes neither ARGV layout the bench knows: ${reasons.join(' / ')}`);
}

/** Opens accounts through the port (for the memory strategy, which has no Redis to populate). */
export async function openThroughPort(ledger: AccountsLedger, ids: readonly string[], balance = BALANCE): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await Promise.all(ids.slice(i, i + 500).map((id) => ledger.open({ id, balance })));
  }
}

export async function prepare(bench: BenchLedger, client: Redis, ledger: string, ids: readonly string[]): Promise<void> {
  if (bench.strategy === 'memory') await openThroughPort(bench.ledger, ids);
  else await populate(client, ledger, ids);
}

/** Two distinct accounts picked uniformly at random. */
export function randomPair(ids: readonly string[]): [string, string] {
  const a = Math.floor(Math.random() * ids.length);
  let b = Math.floor(Math.random() * (ids.length - 1));
  if (b >= a) b++;
  return [ids[a], ids[b]];
}

export function randomTransfer(ids: readonly string[]): Transfer {
  const [from, to] = randomPair(ids);
  return { from, to, amount: 1 };
}
