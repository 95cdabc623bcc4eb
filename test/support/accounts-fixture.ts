import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { RedisAtomicModule, RedisAtomicOptions } from '../../libs/redis-atomic/src';
import { keyspaceSnapshot, RedisServer } from '../../libs/redis-atomic/src/testing';
import { AccountsModule, AccountsModuleOptions, AtomicStrategy } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';

export interface LedgerFixture {
  strategy: AtomicStrategy;
  ledger: AccountsLedger;
  /** The whole Redis keyspace as text (Redis strategies only). */
  rawSnapshot?: () => Promise<string>;
  close(): Promise<void>;
}

/** A ledger wired exactly as in production: through AccountsModule.forRoot (and RedisAtomicModule). */
export async function ledgerFixture(
  strategy: AtomicStrategy,
  server?: RedisServer,
  options: Partial<AccountsModuleOptions> = {},
  redisOptions: Partial<RedisAtomicOptions> = {},
): Promise<LedgerFixture> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server!.url, ...redisOptions })];
  const moduleRef = await Test.createTestingModule({
    imports: [...redis, AccountsModule.forRoot({ strategy, http: false, ...options })],
  }).compile();
  await moduleRef.init();
  const client = strategy === 'memory' ? undefined : server!.client();
  return {
    strategy,
    ledger: moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER),
    rawSnapshot: client && (() => keyspaceSnapshot(client)),
    close: async () => {
      await moduleRef.close();
      client?.disconnect();
    },
  };
}

/** Ids unique to one test, so tests share a server without FLUSHDB (as BullMQ's suites do). */
export const uniqueIds = (...names: string[]): string[] => {
  const tag = randomBytes(4).toString('hex');
  return names.map((name) => `${name}-${tag}`);
};
