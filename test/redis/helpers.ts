import 'reflect-metadata';
import { Test, TestingModule } from '@nestjs/testing';
import type Redis from 'ioredis';
import { AtomicError } from '@kernel/core';
import { FunctionLibraries, REDIS_CLIENT, RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { WatchRunner } from '@kernel/redis';
import type { RedisServer } from '@kernel/testing';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';

/** Shared by the suites of test/redis: a ledger wired like production, and small async helpers. */

export type RedisStrategy = 'functions' | 'transactions';
export const REDIS_STRATEGIES: readonly RedisStrategy[] = ['functions', 'transactions'];

export interface Wired {
  moduleRef: TestingModule;
  ledger: AccountsLedger;
  /** The module's shared ioredis client. */
  client: Redis;
  watch: WatchRunner;
  libraries: FunctionLibraries;
  close(): Promise<void>;
}

export async function wireLedger(server: RedisServer, strategy: RedisStrategy,
  redis: Partial<RedisAtomicOptions> = {}): Promise<Wired> {
  const moduleRef = await Test.createTestingModule({
    imports: [RedisAtomicModule.forRoot({ url: server.url, ...redis }), AccountsModule.forRoot({ strategy, http: false })],
  }).compile();
  await moduleRef.init();
  return {
    moduleRef,
    ledger: moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER),
    client: moduleRef.get<Redis>(REDIS_CLIENT),
    watch: moduleRef.get(WatchRunner),
    libraries: moduleRef.get(FunctionLibraries),
    close: () => moduleRef.close(),
  };
}

/** The rejection of `promise`; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    return err;
  }
  throw new Error(`expected a rejection, got success: ${JSON.stringify(value)}`);
}

/** The rejection of `promise`, which must be an AtomicError. */
export async function atomicRejection(promise: Promise<unknown>): Promise<AtomicError> {
  const err = await rejectionOf(promise);
  if (!(err instanceof AtomicError)) {
    throw new Error(`expected an AtomicError, got ${(err as Error)?.name}: ${(err as Error)?.message ?? String(err)}`);
  }
  return err;
}

/** Polls `condition` every few ms; the bound only keeps a broken test from hanging. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, boundMs = 10_000): Promise<void> {
  for (let waited = 0; ; waited += 10) {
    if (await condition()) return;
    if (waited >= boundMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `CLIENT LIST` as one record per connection. */
export async function clientList(admin: Redis): Promise<Record<string, string>[]> {
  const text = (await admin.call('CLIENT', 'LIST')) as string;
  return text.trim().split('\n').filter(Boolean).map((line) =>
    Object.fromEntries(line.trim().split(' ').map((field) => {
      const at = field.indexOf('=');
      return [field.slice(0, at), field.slice(at + 1)];
    })));
}

/** Kills one connection by its Redis client id (as returned by `CLIENT ID` on it). */
export async function killClient(admin: Redis, id: number | string): Promise<void> {
  const killed = await admin.call('CLIENT', 'KILL', 'ID', String(id));
  if (killed !== 1) throw new Error(`CLIENT KILL ID ${id} killed ${killed} connections`);
}

/** `calls` of one command in INFO commandstats (0 when never called since the last CONFIG RESETSTAT). */
export async function commandCalls(admin: Redis, command: string): Promise<number> {
  const info = await admin.info('commandstats');
  const line = info.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
  return line ? Number(/calls=(\d+)/.exec(line)![1]) : 0;
}
