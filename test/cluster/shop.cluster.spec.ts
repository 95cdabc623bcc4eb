import type Redis from 'ioredis';
import { RedisCluster } from '@kernel/testing';
import { inventoryContract } from '../contract/inventory.contract';
import { ordersContract } from '../contract/orders.contract';
import { ShopCase, shopConcurrencySuite } from '../contract/orders.concurrency';
import { reservationsConcurrencySuite } from '../contract/reservations.concurrency';
import { reservationsContract } from '../contract/reservations.contract';
import { shopIdempotencySuite } from '../contract/shop-idempotency';
import { shopFixture, ShopFixture } from '../support/shop-fixture';

/**
 * The shop (Inventory, Orders, stock reservations) on a local Redis Cluster (3 masters + 3 replicas), for the
 * functions and transactions strategies: the same contract suites as standalone — every refusal leaves every
 * master's keyspace unchanged — the idempotency-record expiry suite, and the concurrency invariants (oversell,
 * the mixed workload, reservations racing sweepers) with two app instances per shop. Each test's shop is a fresh
 * hash tag, so the shops spread over the three masters. One cluster for the whole file.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start()), 120_000);
afterAll(() => cluster.stop(), 30_000);
jest.setTimeout(60_000);

const STRATEGIES = ['functions', 'transactions'] as const;

/**
 * The contracts' fixtures, cheaper on a cluster (as test/kv.contract.spec.ts does standalone): wiring an app — a
 * cluster client to six nodes, FUNCTION LOAD on three masters — is most of a contract test's time, so each
 * describe block reuses ONE app (one shop) for the first fixture of every test, with every master emptied first
 * (FLUSHDB: the keys go, the functions stay). A second fixture in the same test (another shop) is a fresh app.
 */
function sharedShop(strategy: (typeof STRATEGIES)[number]): () => Promise<ShopFixture> {
  let shared: ShopFixture | undefined;
  let usedInThisTest = false;
  let masters: Redis[] | undefined;
  beforeEach(() => (usedInThisTest = false));
  afterAll(() => shared?.close());
  return async () => {
    if (usedInThisTest) return shopFixture(strategy, cluster);
    usedInThisTest = true;
    shared ??= await shopFixture(strategy, cluster);
    masters ??= (await cluster.masters()).map((m) => cluster.nodeClient(m.port));
    await Promise.all(masters.map((master) => master.flushdb()));
    return { ...shared, close: async () => undefined };
  };
}

describe.each(STRATEGIES)('Inventory contract on a Redis Cluster — %s', (strategy) => {
  inventoryContract(sharedShop(strategy));
});

describe.each(STRATEGIES)('Orders contract on a Redis Cluster — %s', (strategy) => {
  ordersContract(sharedShop(strategy));
});

describe.each(STRATEGIES)('Stock reservations contract on a Redis Cluster — %s', (strategy) => {
  reservationsContract(sharedShop(strategy), () => shopFixture(strategy, cluster, { idempotencyTtlSeconds: 1 }));
});

describe('on a Redis Cluster', () => {
  shopIdempotencySuite(() => cluster, STRATEGIES);

  const CASES: ShopCase[] = [
    ['functions, 2 instances', 'functions', {}, 2],
    ['transactions, 2 instances', 'transactions', { watch: { maxAttempts: 50 } }, 2],
  ];
  shopConcurrencySuite(() => cluster, CASES);
  reservationsConcurrencySuite(() => cluster, CASES);
});
