import { Test } from '@nestjs/testing';
import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { OrdersModule } from '../src/shop/orders/orders.module';
import { shopIdempotencySuite } from './contract/shop-idempotency';

/** The shop modules' `idempotencyTtlSeconds` (test/contract/shop-idempotency.ts) on every strategy, and its checks. */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

shopIdempotencySuite(() => server, ATOMIC_STRATEGIES);

describe('shop modules refuse a bad idempotencyTtlSeconds', () => {
  it.each([0, -1, 1.5, Number.NaN])('%p', async (ttl) => {
    for (const module of [
      InventoryModule.forRoot({ strategy: 'memory', idempotencyTtlSeconds: ttl, http: false }),
      OrdersModule.forRoot({ strategy: 'memory', idempotencyTtlSeconds: ttl, http: false }),
    ]) {
      await expect(Test.createTestingModule({ imports: [module] }).compile()).rejects.toThrow(/idempotencyTtlSeconds must be an integer >= 1/);
    }
  });
});
