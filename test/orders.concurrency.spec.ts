import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import type { Orders } from '../src/shop/orders/orders.port';
import { LeakyCancelOrders, ReadThenWriteOrders, SeedMultiOrders } from './support/broken-orders';
import { MixedSetup, mixedViolations, oversellViolations, runMixed, runOversell } from './support/shop';
import { shopFixture, ShopFixture, uniqueShop } from './support/shop-fixture';

/**
 * The shop under concurrency, for every adapter:
 * - oversell: stock 50, 200 concurrent one-unit orders from 40 users → exactly 50 placed, stock 0, users' order
 *   sets and stats agree, the queue holds exactly those 50;
 * - mixed: 16 workers, 600 random place / cancel / restock / claim / complete on 3 hot products, then every
 *   invariant of support/shop.ts;
 * - and the checkers bite: deliberately broken doubles are caught.
 */
const OVERSELL = { stock: 50, orders: 200, users: 40 };
const MIXED = { workers: 16, operations: 600, seed: Number(process.env.SHOP_SEED ?? 20261125) };
const setup = (): MixedSetup => ({ stock: { hot1: 40, hot2: 25, hot3: 60 }, users: Array.from({ length: 12 }, (_, i) => `user${i}`) });

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

/** Each case: a strategy and its kernel options, run by one or more app instances sharing one shop. */
const CASES: [string, AtomicStrategy, Partial<RedisAtomicOptions>, number][] = [
  ['memory', 'memory', {}, 1],
  ['functions, 2 instances', 'functions', {}, 2],
  // WATCH alone: the in-process queue is off, so every conflict is resolved by WATCH and retries.
  ['transactions, WATCH only', 'transactions', { watch: { queueSameKeys: false, maxAttempts: 100 } }, 1],
  // The default: each instance queues its own same-key transactions; WATCH guards between instances.
  ['transactions, 2 instances', 'transactions', { watch: { maxAttempts: 50 } }, 2],
];

async function instances(strategy: AtomicStrategy, redis: Partial<RedisAtomicOptions>, count: number): Promise<ShopFixture[]> {
  const shop = uniqueShop();
  return Promise.all(Array.from({ length: count }, () => shopFixture(strategy, server, { shop, redis })));
}

/** EXEC calls the server has seen (aborted ones included). */
async function execCalls(): Promise<number> {
  const client = server.client();
  const stats = await client.info('commandstats');
  client.disconnect();
  return Number(/cmdstat_exec:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe.each(CASES)('shop under concurrency — %s', (_, strategy, redis, count) => {
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
