import { AtomicStrategy, idempotentCall } from '@kernel/core';
import { MemoryEventLog } from '@kernel/memory';
import { connectRedis, FunctionLibrary, RedisClient, WatchRunner } from '@kernel/redis';
import { RedisCluster, RedisServer } from '@kernel/testing';
import type { AccountsLedger, Transfer } from '../../src/accounts/accounts.port';
import { LedgerLimits, requestOf } from '../../src/accounts/ledger-rules';
import { ValidatedLedger } from '../../src/accounts/validated-ledger';
import { createSpread, SpreadOptions, SpreadParts } from '../../src/accounts/spread/adapters/create-spread';

/** A spread ledger built from its parts (so tests reach the store, the coordinator's hooks and the sweeper). */
export interface SpreadFixture {
  ledger: AccountsLedger;
  parts: SpreadParts;
  client?: RedisClient;
  /** Which shard combinations a test should use (a cluster: shards on distinct masters). */
  acceptShards?: (shards: number[]) => boolean;
  close(): Promise<void>;
}

export const SPREAD_LIMITS: LedgerLimits = { maxBatch: 100, historyLimit: 1000, idempotencyTtlSeconds: 3600, eventsMaxLen: 10_000 };

export class Crash extends Error {
  override readonly name = 'Crash';
}

export async function spreadFixture(strategy: AtomicStrategy, server: RedisServer | RedisCluster | undefined, ledger: string,
  options: SpreadOptions, shared?: { client: RedisClient; accounts: FunctionLibrary; escrow: FunctionLibrary }): Promise<SpreadFixture> {
  if (strategy === 'memory') {
    const logs = new Map<string, MemoryEventLog>();
    const parts = createSpread('memory', ledger, SPREAD_LIMITS, options, { memoryLog: (tag) => logs.get(tag) ?? logs.set(tag, new MemoryEventLog()).get(tag)! });
    return { ledger: new ValidatedLedger(parts.ledger, SPREAD_LIMITS), parts, close: async () => undefined };
  }
  const own = !shared;
  const client = shared?.client ?? await connectRedis(server instanceof RedisCluster ? { cluster: { nodes: server.nodes } } : { url: server!.url });
  const accounts = shared?.accounts ?? FunctionLibrary.fromFile(client, 'accounts');
  const escrow = shared?.escrow ?? FunctionLibrary.fromFile(client, 'escrow');
  if (own && strategy === 'functions') {
    await accounts.load();
    await escrow.load();
  }
  const watch = new WatchRunner(client);
  const parts = createSpread(strategy, ledger, SPREAD_LIMITS, options,
    { redis: { client, watch, keyPrefix: 'ra', accounts, escrow } });
  return {
    ledger: new ValidatedLedger(parts.ledger, SPREAD_LIMITS), parts, client,
    close: async () => {
      watch.close();
      if (own) client.disconnect();
    },
  };
}

/** Two account ids on different shards (and, given `distinct`, on shards whose tags differ in master). */
export function idsOnShards(parts: SpreadParts, count: number, base: string, accept: (shards: number[]) => boolean = () => true): string[] {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const ids = Array.from({ length: count }, (_, i) => `${base}${attempt}-${i}`);
    const shards = ids.map((id) => parts.routing.shardOf(id));
    if (new Set(shards).size === count && accept(shards)) return ids;
  }
  throw new Error('no ids found');
}

/** Sweeps until `done` holds (the sweeper's own pace; bounded so a stuck transaction fails the test, not hangs it). */
export async function sweepUntil(parts: SpreadParts, done: () => Promise<boolean>, rounds = 300): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const report = await parts.sweeper!.sweep(100);
    if (report.conflicts > 0) throw new Error(`sweep conflicts: ${report.alerts.join('; ')}`);
    if (await done()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the sweeper did not finish the transaction');
}

/** The txids of every open hold of every shard. */
export async function openHolds(parts: SpreadParts): Promise<string[]> {
  const holds: string[] = [];
  for (let s = 0; s < parts.store!.shards; s++) holds.push(...(await parts.store!.holds(s)).keys());
  return holds;
}

/** The txid a keyed transfer or batch of this ledger runs under (coordinator.ts: call.id(-1)). */
export const txidOf = (ledger: string, key: string, cmds: Transfer[], batch = false): string =>
  idempotentCall(ledger, key, batch ? requestOf.batch(cmds) : requestOf.transfer(cmds[0]), { ttlSeconds: 1 })!.id(-1);
