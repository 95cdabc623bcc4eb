import type { AtomicStrategy } from '@kernel/core';
import { isReplayed } from '@kernel/core';
import { shopFixture, ShopFixture } from '../support/shop-fixture';
import type { RedisTarget } from '../support/redis-target';

/**
 * The shop modules' `idempotencyTtlSeconds`, on every strategy: records expire after it, and then a keyed
 * place without an id — whose id the key derives — is refused as ORDER_EXISTS instead of placing a second order.
 * Run for every adapter on a private server (test/shop.idempotency.spec.ts) and for the Redis ones on a local
 * cluster (test/cluster/shop.cluster.spec.ts).
 */
const line = { productId: 'p1', quantity: 2, unitPrice: 5 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function shopIdempotencySuite(target: () => RedisTarget | undefined, strategies: readonly AtomicStrategy[]): void {
  describe.each(strategies)('shop idempotency records expire (idempotencyTtlSeconds: 1) — %s', (strategy) => {
    let fixture: ShopFixture;
    beforeEach(async () => (fixture = await shopFixture(strategy, target(), { idempotencyTtlSeconds: 1 })));
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
}
