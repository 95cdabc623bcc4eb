import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { MixedSetup, mixedViolations, oversellViolations, runMixed, runOversell } from '../support/shop';
import { shopFixture, ShopFixture, uniqueShop } from '../support/shop-fixture';
import { commandCalls, RedisTarget } from '../support/redis-target';

/**
 * The shop under concurrency, for one adapter per case (test/orders.concurrency.spec.ts runs every adapter on a
 * private server, test/cluster/shop.cluster.spec.ts the Redis ones on a local cluster):
 * - oversell: stock 50, 200 concurrent one-unit orders from 40 users → exactly 50 placed, stock 0, users' order
 *   sets and stats agree, the queue holds exactly those 50;
 * - mixed: 16 workers, 600 random place / cancel / restock / claim / complete on 3 hot products, then every
 *   invariant of support/shop.ts.
 */
export const OVERSELL = { stock: 50, orders: 200, users: 40 };
export const MIXED = { workers: 16, operations: 600, seed: Number(process.env.SHOP_SEED ?? 20261125) };
export const setup = (): MixedSetup => ({ stock: { hot1: 40, hot2: 25, hot3: 60 }, users: Array.from({ length: 12 }, (_, i) => `user${i}`) });

/** A case: its name, a strategy and its kernel options, run by one or more app instances sharing one shop. */
export type ShopCase = [string, AtomicStrategy, Partial<RedisAtomicOptions>, number];

export function shopConcurrencySuite(target: () => RedisTarget | undefined, cases: ShopCase[]): void {
  async function instances(strategy: AtomicStrategy, redis: Partial<RedisAtomicOptions>, count: number): Promise<ShopFixture[]> {
    const shop = uniqueShop();
    return Promise.all(Array.from({ length: count }, () => shopFixture(strategy, target(), { shop, redis })));
  }

  /** EXEC calls the server (every master) has seen, aborted ones included. */
  const execCalls = () => commandCalls(target()!, 'exec');

  describe.each(cases)('shop under concurrency — %s', (_, strategy, redis, count) => {
    let fixtures: ShopFixture[];
    beforeEach(async () => (fixtures = await instances(strategy, redis, count)));
    afterEach(() => Promise.all(fixtures.map((f) => f.close())));

    it(`never oversells: stock ${OVERSELL.stock}, ${OVERSELL.orders} concurrent one-unit orders → exactly ${OVERSELL.stock} placed`, async () => {
      const [{ inventory, orders }] = fixtures;
      await inventory.setStock('hot', OVERSELL.stock);
      const run = await runOversell(fixtures.map((f) => f.orders), 'hot', OVERSELL);
      const { OUT_OF_STOCK = 0, CONFLICT = 0, ...unexpected } = run.failures;
      expect(unexpected).toEqual({});
      expect(run.placed).toHaveLength(OVERSELL.stock);
      expect(OUT_OF_STOCK + CONFLICT).toBe(OVERSELL.orders - OVERSELL.stock);
      if (strategy !== 'transactions') expect(CONFLICT).toBe(0);
      expect(await inventory.get('hot')).toEqual({ productId: 'hot', stock: 0 });
      expect(await oversellViolations(orders, inventory, 'hot', OVERSELL.stock, run, OVERSELL.users)).toEqual([]);
    });

    it('keeps every invariant under concurrent place / cancel / restock / claim / complete', async () => {
      const [{ inventory, orders }] = fixtures;
      const shop = setup();
      for (const [id, level] of Object.entries(shop.stock)) await inventory.setStock(id, level);
      const execsBefore = await execCalls();
      const run = await runMixed(fixtures, shop, MIXED);
      const execs = (await execCalls()) - execsBefore;
      const { OUT_OF_STOCK = 0, ORDER_NOT_CANCELLABLE = 0, INVALID_TRANSITION = 0, CONFLICT = 0, ...unexpected } = run.failures;
      expect(unexpected).toEqual({});
      if (strategy !== 'transactions') expect(CONFLICT).toBe(0);
      // The workload really did all of it, including the failures it is meant to provoke.
      expect(run.placed.size).toBeGreaterThan(100);
      expect(Math.min(run.cancelled.size, run.claimed.size, run.completed.size, run.restocks)).toBeGreaterThan(0);
      expect(Math.min(OUT_OF_STOCK, ORDER_NOT_CANCELLABLE, INVALID_TRANSITION)).toBeGreaterThan(0);
      expect(await mixedViolations(orders, inventory, shop, run)).toEqual([]);
      // WATCH really was exercised: more EXECs than successful transactions means some were aborted and retried.
      const committed = run.placed.size + run.cancelled.size + run.claimed.size + run.completed.size + run.restocks + run.emptyClaims;
      if (strategy === 'transactions') expect(execs).toBeGreaterThan(committed);
    });
  });
}
