import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { UncheckedConsumeOrders } from './support/broken-orders';
import { ReservationSetup, reservationViolations, runReservations } from './support/reservations';
import { shopFixture, ShopFixture, uniqueShop } from './support/shop-fixture';

/**
 * Stock reservations under concurrency, for every adapter: reservations (ttl 1 s), orders consuming them (whatever
 * their state), ordinary orders, releases, restocks, cancels and sweepers from several instances race each other
 * (support/reservations.ts); then available + held + sold = initial + restocks, nothing negative, and every
 * reservation ended exactly once. And the checker bites: an order that consumes without checking the
 * reservation's state is caught.
 */
const RUN = { workers: 12, operations: 400, seed: Number(process.env.RESERVATIONS_SEED ?? 20261129) };
const setup = (): ReservationSetup => ({ stock: { r1: 30, r2: 20, r3: 12 }, users: Array.from({ length: 6 }, (_, i) => `user${i}`) });

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

const CASES: [string, AtomicStrategy, Partial<RedisAtomicOptions>, number][] = [
  ['memory', 'memory', {}, 1],
  ['functions, 2 instances', 'functions', {}, 2],
  ['transactions, 2 instances', 'transactions', { watch: { maxAttempts: 50 } }, 2],
];

describe.each(CASES)('reservations under concurrency — %s', (_, strategy, redis, count) => {
  let fixtures: ShopFixture[];
  beforeEach(async () => {
    const shop = uniqueShop();
    fixtures = await Promise.all(Array.from({ length: count }, () => shopFixture(strategy, server, { shop, redis })));
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

describe('the reservation checker bites', () => {
  let real: ShopFixture;
  beforeEach(async () => (real = await shopFixture('functions', server)));
  afterEach(() => real.close());

  it('catches an order that consumes a reservation without checking its state (ends twice, held below zero)', async () => {
    const orders = new UncheckedConsumeOrders(real.orders, real.client!, real.keys!);
    const shop = setup();
    for (const [id, level] of Object.entries(shop.stock)) await real.inventory.setStock(id, level);
    const run = await runReservations([{ orders, inventory: real.inventory }], shop, RUN);
    const violations = await reservationViolations(orders, real.inventory, shop, run, await real.events());
    expect(violations.some((v) => /reservation \w+ ended 2 times/.test(v))).toBe(true);
    expect(violations.some((v) => /r\d: (unreadable: held units|.*units still held)/.test(v))).toBe(true);
  });
});
