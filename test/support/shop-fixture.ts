import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import type Redis from 'ioredis';
import { KeySpace, RedisAtomicModule, RedisAtomicOptions } from '../../libs/redis-atomic/src';
import type { AtomicStrategy } from '../../libs/redis-atomic/src/strategy';
import { keyspaceSnapshot, RedisServer } from '../../libs/redis-atomic/src/testing';
import { InventoryModule } from '../../src/inventory/inventory.module';
import { INVENTORY, Inventory } from '../../src/inventory/inventory.port';
import { OrderKeys } from '../../src/orders/keys';
import { OrdersModule } from '../../src/orders/orders.module';
import { ORDERS, Orders } from '../../src/orders/orders.port';

export interface ShopFixture {
  strategy: AtomicStrategy;
  shop: string;
  inventory: Inventory;
  orders: Orders;
  /** Redis strategies only: a test-side client of the server, the shop's keys, the whole keyspace as text. */
  client?: Redis;
  keys?: OrderKeys;
  rawSnapshot?: () => Promise<string>;
  close(): Promise<void>;
}

/**
 * Inventory and Orders wired exactly as in production: through InventoryModule.forRoot and OrdersModule.forRoot
 * (and RedisAtomicModule), on one shop. Each fixture gets its own shop by default — a fresh hash tag, so tests
 * share a server without FLUSHDB and a shop-wide queue or low-stock list holds only the test's own data.
 */
export async function shopFixture(strategy: AtomicStrategy, server?: RedisServer,
  { shop = uniqueShop(), redis = {}, idempotencyTtlSeconds }:
    { shop?: string; redis?: Partial<RedisAtomicOptions>; idempotencyTtlSeconds?: number } = {}): Promise<ShopFixture> {
  const kernel = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server!.url, ...redis })];
  const moduleRef = await Test.createTestingModule({
    imports: [
      ...kernel,
      InventoryModule.forRoot({ strategy, shop, idempotencyTtlSeconds, http: false }),
      OrdersModule.forRoot({ strategy, shop, idempotencyTtlSeconds, http: false }),
    ],
  }).compile();
  await moduleRef.init();
  const client = strategy === 'memory' ? undefined : server!.client();
  return {
    strategy,
    shop,
    inventory: moduleRef.get<Inventory>(INVENTORY),
    orders: moduleRef.get<Orders>(ORDERS),
    client,
    keys: client && new OrderKeys(new KeySpace(redis.keyPrefix ?? 'ra', shop)),
    rawSnapshot: client && (() => keyspaceSnapshot(client)),
    close: async () => {
      await moduleRef.close();
      client?.disconnect();
    },
  };
}

export const uniqueShop = (): string => `shop-${randomBytes(4).toString('hex')}`;
