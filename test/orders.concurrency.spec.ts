import { RedisServer } from '@kernel/testing';
import type { Orders } from '../src/shop/orders/orders.port';
import { MIXED, OVERSELL, setup, shopConcurrencySuite } from './contract/orders.concurrency';
import { LeakyCancelOrders, ReadThenWriteOrders, SeedMultiOrders } from './support/broken-orders';
import { mixedViolations, oversellViolations, runMixed, runOversell } from './support/shop';
import { shopFixture, ShopFixture } from './support/shop-fixture';

/**
 * The shop under concurrency, for every adapter (test/contract/orders.concurrency.ts: oversell and the mixed
 * workload), and the checkers bite: deliberately broken doubles are caught.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

shopConcurrencySuite(() => server, [
  ['memory', 'memory', {}, 1],
  ['functions, 2 instances', 'functions', {}, 2],
  // WATCH alone: the in-process queue is off, so every conflict is resolved by WATCH and retries.
  ['transactions, WATCH only', 'transactions', { watch: { queueSameKeys: false, maxAttempts: 100 } }, 1],
  // The default: each instance queues its own same-key transactions; WATCH guards between instances.
  ['transactions, 2 instances', 'transactions', { watch: { maxAttempts: 50 } }, 2],
]);

describe('the shop checkers bite (deliberately broken doubles)', () => {
  let real: ShopFixture;
  beforeEach(async () => (real = await shopFixture('functions', server)));
  afterEach(() => real.close());
  const broken = <T extends Orders>(Double: new (real: Orders, client: ShopFixture['client'] & object, keys: ShopFixture['keys'] & object) => T) =>
    new Double(real.orders, real.client!, real.keys!);

  it("catches the seed's Step 4 (one MULTI, no stock check) overselling", async () => {
    const orders = broken(SeedMultiOrders);
    await real.inventory.setStock('hot', OVERSELL.stock);
    const run = await runOversell([orders], 'hot', OVERSELL);
    const violations = await oversellViolations(orders, real.inventory, 'hot', OVERSELL.stock, run, OVERSELL.users);
    expect(run.placed).toHaveLength(OVERSELL.orders); // every order "succeeded"
    expect(violations).toEqual([`hot: stock is unreadable: stock of hot is ${OVERSELL.stock - OVERSELL.orders}, not an integer in [0, 2^53)`]);
  });

  it('catches a read-then-write without WATCH overselling with lost updates', async () => {
    const orders = broken(ReadThenWriteOrders);
    await real.inventory.setStock('hot', OVERSELL.stock);
    const run = await runOversell([orders], 'hot', OVERSELL);
    const violations = await oversellViolations(orders, real.inventory, 'hot', OVERSELL.stock, run, OVERSELL.users);
    expect(violations.some((v) => v.includes('orders placed for'))).toBe(true);
  });

  it("catches the seed's Step 4 in the mixed workload (stock below zero)", async () => {
    const orders = broken(SeedMultiOrders);
    const shop = setup();
    for (const [id, level] of Object.entries(shop.stock)) await real.inventory.setStock(id, level);
    const run = await runMixed([{ orders, inventory: real.inventory }], shop, MIXED);
    const violations = await mixedViolations(orders, real.inventory, shop, run);
    expect(violations.some((v) => /stock of hot\d is -\d+, not an integer/.test(v))).toBe(true);
  });

  it('catches a cancel that leaves the order queued and counted (state and stats)', async () => {
    const orders = broken(LeakyCancelOrders);
    const shop = setup();
    for (const [id, level] of Object.entries(shop.stock)) await real.inventory.setStock(id, level);
    const run = await runMixed([{ orders, inventory: real.inventory }], shop, MIXED);
    const violations = await mixedViolations(orders, real.inventory, shop, run);
    expect(violations.some((v) => /is cancelled but 1× pending/.test(v))).toBe(true);
    expect(violations.some((v) => /stats .* non-cancelled orders/.test(v))).toBe(true);
  });
});
