import { Test } from '@nestjs/testing';
import { ATOMIC_STRATEGIES, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { OrdersModule } from '../src/shop/orders/orders.module';
import { shopFixture, ShopFixture } from './support/shop-fixture';

/**
 * The shop modules' `idempotencyTtlSeconds`, on every strategy: records expire after it, and then a keyed
 * place without an id — whose id the key derives — is refused as ORDER_EXISTS instead of placing a second order.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

const line = { productId: 'p1', quantity: 2, unitPrice: 5 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(ATOMIC_STRATEGIES)('shop idempotency records expire (idempotencyTtlSeconds: 1) — %s', (strategy) => {
  let fixture: ShopFixture;
  beforeEach(async () => (fixture = await shopFixture(strategy, server, { idempotencyTtlSeconds: 1 })));
  afterEach(() => fixture.close());

  it('replays within the TTL; after it, the derived order id refuses a second order, and a restock applies again', async () => {
    const { inventory, orders } = fixture;
    await inventory.setStock('p1', 10);
    const [placeKey, restockKey] = ['place-key', 'restock-key'];
    const placed = await orders.place({ userId: 'u1', items: [line] }, { idempotencyKey: placeKey });
    await inventory.restock('p1', 1, { idempotencyKey: restockKey });
    expect(isReplayed(await orders.place({ userId: 'u1', items: [line] }, { idempotencyKey: placeKey }))).toBe(true);
    if (fixture.client) {
      const records = await fixture.client.keys(`ra:{${fixture.shop}}:shop-idem:*`);
      expect(records).toHaveLength(2);
      for (const record of records) expect(await fixture.client.pttl(record)).toBeLessThanOrEqual(1000);
    }
    await sleep(1200);
    await expect(orders.place({ userId: 'u1', items: [line] }, { idempotencyKey: placeKey }))
      .rejects.toMatchObject({ code: 'ORDER_EXISTS', replayed: false, details: { orderId: placed.id } });
    await expect(orders.listByUser('u1')).resolves.toEqual([placed]);
    // A restock has no id to collide on: once its record expired, the same key is a new request (as documented).
    await expect(inventory.restock('p1', 1, { idempotencyKey: restockKey })).resolves.toEqual({ productId: 'p1', stock: 10 });
  });
});

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
