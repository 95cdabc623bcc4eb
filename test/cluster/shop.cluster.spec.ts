import { RedisCluster } from '@kernel/testing';
import { inventoryContract } from '../contract/inventory.contract';
import { ordersContract } from '../contract/orders.contract';
import { ShopCase, shopConcurrencySuite } from '../contract/orders.concurrency';
import { reservationsConcurrencySuite } from '../contract/reservations.concurrency';
import { reservationsContract } from '../contract/reservations.contract';
import { shopIdempotencySuite } from '../contract/shop-idempotency';
import { shopFixture } from '../support/shop-fixture';

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

describe.each(STRATEGIES)('Inventory contract on a Redis Cluster — %s', (strategy) => {
  inventoryContract(() => shopFixture(strategy, cluster));
});

describe.each(STRATEGIES)('Orders contract on a Redis Cluster — %s', (strategy) => {
  ordersContract(() => shopFixture(strategy, cluster));
});

describe.each(STRATEGIES)('Stock reservations contract on a Redis Cluster — %s', (strategy) => {
  reservationsContract(() => shopFixture(strategy, cluster), () => shopFixture(strategy, cluster, { idempotencyTtlSeconds: 1 }));
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
