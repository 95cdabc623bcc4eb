import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { connectionTo } from './accounts-fixture';
import { RedisTarget, shardAccess } from './redis-target';
import { KvModule } from '../../src/kv/kv.module';
import { ConditionalStore, KV_STORE } from '../../src/kv/kv.port';
import { EventsModule } from '../../src/events/events.module';
import { EVENT_LOG, EventLog, EventView } from '../../src/events/events.port';

export interface KvFixture {
  strategy: AtomicStrategy;
  namespace: string;
  store: ConditionalStore;
  /**
   * Redis strategies only: a test-side client (on a cluster: of the master owning the namespace's slot), the Redis
   * key of a logical key, the whole keyspace as text (on a cluster: every master's).
   */
  client?: Redis;
  redisKey: (key: string) => string;
  rawSnapshot?: () => Promise<string>;
  /** The namespace's event log, oldest first (the first 1000 events). */
  events(): Promise<EventView[]>;
  close(): Promise<void>;
}

/**
 * The conditional store wired as in production (KvModule.forRoot, RedisAtomicModule), in a fresh namespace per
 * fixture — its own hash tag, so tests share a server without FLUSHDB.
 */
export async function kvFixture(strategy: AtomicStrategy, server?: RedisTarget,
  { namespace = `kv-${randomBytes(4).toString('hex')}`, redis = {} }: { namespace?: string; redis?: Partial<RedisAtomicOptions> } = {}):
  Promise<KvFixture> {
  const kernel = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ ...connectionTo(server!), ...redis })];
  const moduleRef = await Test.createTestingModule({
    imports: [...kernel, KvModule.forRoot({ strategy, namespace, http: false }),
      EventsModule.forRoot({ strategy, http: false, streams: { kv: namespace } })],
  }).compile();
  await moduleRef.init();
  const access = strategy === 'memory' ? undefined : await shardAccess(server!, namespace);
  const client = access?.client;
  return {
    strategy,
    namespace,
    store: moduleRef.get<ConditionalStore>(KV_STORE),
    client,
    redisKey: (key) => `${redis.keyPrefix ?? 'ra'}:{${namespace}}:kv:${key}`,
    rawSnapshot: access?.snapshot,
    events: async () => (await moduleRef.get<EventLog>(EVENT_LOG).read('kv', { limit: 1000 })).events,
    close: async () => {
      await moduleRef.close();
      access?.close();
    },
  };
}
