import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { ReservationSetup, reservationViolations, runReservations } from '../support/reservations';
import { shopFixture, ShopFixture, uniqueShop } from '../support/shop-fixture';
import type { RedisTarget } from '../support/redis-target';

/**
 * Stock reservations under concurrency, for one adapter per case (test/reservations.concurrency.spec.ts runs every
 * adapter on a private server, test/cluster/shop.cluster.spec.ts the Redis ones on a local cluster): reservations
 * (ttl 1 s), orders consuming them (whatever their state), ordinary orders, releases, restocks, cancels and sweepers
 * from several instances race each other (support/reservations.ts); then available + held + sold = initial +
 * restocks, nothing negative, and every reservation ended exactly once.
 */
export const RUN = { workers: 12, operations: 400, seed: Number(process.env.RESERVATIONS_SEED ?? 20261129) };
export const setup = (): ReservationSetup => ({ stock: { r1: 30, r2: 20, r3: 12 }, users: Array.from({ length: 6 }, (_, i) => `user${i}`) });

/** A case: its name, a strategy and its kernel options, run by that many app instances sharing one shop. */
export type ReservationCase = [string, AtomicStrategy, Partial<RedisAtomicOptions>, number];

export function reservationsConcurrencySuite(target: () => RedisTarget | undefined, cases: ReservationCase[]): void {
  describe.each(cases)('reservations under concurrency — %s', (_, strategy, redis, count) => {
    let fixtures: ShopFixture[];
    beforeEach(async () => {
      const shop = uniqueShop();
      fixtures = await Promise.all(Array.from({ length: count }, () => shopFixture(strategy, target(), { shop, redis })));
    });
    afterEach(() => Promise.all(fixtures.map((f) => f.close())));

    it('keeps available + held + sold = initial + restocks, nothing negative, every reservation ending exactly once', async () => {
      const [{ inventory, orders }] = fixtures;
      const shop = setup();
      for (const [id, level] of Object.entries(shop.stock)) await inventory.setStock(id, level);
      const run = await runReservations(fixtures, shop, RUN);
      const {
        OUT_OF_STOCK = 0, RESERVATION_RELEASED = 0, RESERVATION_CONSUMED = 0, RESERVATION_EXPIRED = 0, ORDER_NOT_CANCELLABLE = 0, CONFLICT = 0,
        ...unexpected
      } = run.failures;
      expect(unexpected).toEqual({});
      if (strategy !== 'transactions') expect(CONFLICT).toBe(0);
      // The workload did all of it: every way a reservation ends, and the refusals it provokes.
      expect(Math.min(run.released.length, run.consumed.length, run.expired.length, run.placed.size)).toBeGreaterThan(0);
      expect(Math.min(OUT_OF_STOCK, RESERVATION_RELEASED + RESERVATION_CONSUMED, RESERVATION_EXPIRED)).toBeGreaterThan(0);
      expect(await reservationViolations(orders, inventory, shop, run, await fixtures[0].events())).toEqual([]);
    });
  });
}
