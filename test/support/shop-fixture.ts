import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { KeySpace } from '@kernel/core';
import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { connectionTo } from './accounts-fixture';
import { RedisTarget, shardAccess } from './redis-target';
import { InventoryModule } from '../../src/shop/inventory/inventory.module';
import { INVENTORY, Inventory } from '../../src/shop/inventory/inventory.port';
import { OrderKeys } from '../../src/shop/orders/keys';
import { OrdersModule } from '../../src/shop/orders/orders.module';
import { ORDERS, Orders } from '../../src/shop/orders/orders.port';
import { EventsModule } from '../../src/events/events.module';
import { EVENT_LOG, EventLog, EventView } from '../../src/events/events.port';

export interface ShopFixture {
  strategy: AtomicStrategy;
  shop: string;
  inventory: Inventory;
  orders: Orders;
  /**
   * Redis strategies only: a test-side client of the server (on a cluster: of the master owning the shop's slot),
   * the shop's keys, the whole keyspace as text (on a cluster: every master's).
   */
  client?: Redis;
  keys?: OrderKeys;
  rawSnapshot?: () => Promise<string>;
  /** Every event of the shop's stream after `after` (exclusive; all when absent), oldest first. */
  events(after?: string): Promise<EventView[]>;
  /** The id of the newest event (a mark for `events`), or undefined when the stream is empty. */
  lastEventId(): Promise<string | undefined>;
  close(): Promise<void>;
}

/**
 * Inventory and Orders wired exactly as in production: through InventoryModule.forRoot and OrdersModule.forRoot
 * (and RedisAtomicModule, on a private server or a local cluster), on one shop. Each fixture gets its own shop by default — a fresh hash tag, so tests
 * share a server without FLUSHDB and a shop-wide queue or low-stock list holds only the test's own data.
 */
export async function shopFixture(strategy: AtomicStrategy, server?: RedisTarget,
  { shop = uniqueShop(), redis = {}, idempotencyTtlSeconds }:
    { shop?: string; redis?: Partial<RedisAtomicOptions>; idempotencyTtlSeconds?: number } = {}): Promise<ShopFixture> {
  const kernel = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ ...connectionTo(server!), ...redis })];
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...kernel,
      InventoryModule.forRoot({ strategy, shop, idempotencyTtlSeconds, http: false }),
      OrdersModule.forRoot({ strategy, shop, idempotencyTtlSeconds, http: false }),
      EventsModule.forRoot({ strategy, http: false, streams: { shop } }),
    ],
  }).compile();
  await moduleRef.init();
  const access = strategy === 'memory' ? undefined : await shardAccess(server!, shop);
  const client = access?.client;
  const log = moduleRef.get<EventLog>(EVENT_LOG);
  const events = async (after?: string): Promise<EventView[]> => {
    const all: EventView[] = [];
    for (let cursor = after; ;) {
      const page = await log.read('shop', { after: cursor, limit: 1000 });
      all.push(...page.events);
      if (!page.next) return all;
      cursor = page.next;
    }
  };
  return {
    events,
    lastEventId: async () => (await events()).at(-1)?.id,
    strategy,
    shop,
    inventory: moduleRef.get<Inventory>(INVENTORY),
    orders: moduleRef.get<Orders>(ORDERS),
    client,
    keys: client && new OrderKeys(new KeySpace(redis.keyPrefix ?? 'ra', shop)),
    rawSnapshot: access?.snapshot,
    close: async () => {
      await moduleRef.close();
      access?.close();
    },
  };
}

export const uniqueShop = (): string => `shop-${randomBytes(4).toString('hex')}`;
