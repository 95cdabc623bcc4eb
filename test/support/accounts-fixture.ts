import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { keyspaceSnapshot, RedisCluster, RedisServer } from '@kernel/testing';
import { AccountsModule, AccountsModuleOptions } from '../../src/accounts/accounts.module';
import { AtomicStrategy } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';
import { EventsModule } from '../../src/events/events.module';
import { EVENT_LOG, EventLog, EventView } from '../../src/events/events.port';

export interface LedgerFixture {
  strategy: AtomicStrategy;
  ledger: AccountsLedger;
  /** The whole Redis keyspace as text (Redis strategies only). */
  rawSnapshot?: () => Promise<string>;
  /** Every event of the ledger's stream after `after` (exclusive; all when absent), oldest first. */
  events(after?: string): Promise<EventView[]>;
  /** The id of the newest event (a mark for `events`), or undefined when the stream is empty. */
  lastEventId(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** How RedisAtomicModule reaches a test server: its URL, or a test cluster's seed nodes. */
export const connectionTo = (server: RedisServer | RedisCluster): RedisAtomicOptions =>
  server instanceof RedisCluster ? { cluster: { nodes: server.nodes } } : { url: server.url };

/** A ledger wired exactly as in production: through AccountsModule.forRoot (and RedisAtomicModule). */
export async function ledgerFixture(
  strategy: AtomicStrategy,
  server?: RedisServer | RedisCluster,
  options: Partial<AccountsModuleOptions> = {},
  redisOptions: Partial<RedisAtomicOptions> = {},
): Promise<LedgerFixture> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ ...connectionTo(server!), ...redisOptions })];
  const moduleRef = await Test.createTestingModule({
    imports: [...redis, AccountsModule.forRoot({ strategy, http: false, ...options }),
      EventsModule.forRoot({ strategy, http: false, streams: { ledger: options.ledger ?? 'main' } })],
  }).compile();
  await moduleRef.init();
  const client = strategy === 'memory' ? undefined : server!.client();
  const log = moduleRef.get<EventLog>(EVENT_LOG);
  const events = async (after?: string): Promise<EventView[]> => {
    const all: EventView[] = [];
    for (let cursor = after; ;) {
      const page = await log.read('ledger', { after: cursor, limit: 1000 });
      all.push(...page.events);
      if (!page.next) return all;
      cursor = page.next;
    }
  };
  return {
    events,
    lastEventId: async () => (await events()).at(-1)?.id,
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
