import { RedisCluster } from '@kernel/testing';
import { kvConcurrencySuite } from '../contract/kv.concurrency';
import { kvContract } from '../contract/kv.contract';
import { KvFixture, kvFixture } from '../support/kv-fixture';

/**
 * The conditional store (kv) on a local Redis Cluster (3 masters + 3 replicas), for the functions and transactions
 * strategies: the same contract suite as standalone (every refusal leaves every master's keyspace unchanged) and
 * compare-and-set increments from two app instances losing no update. One cluster for the whole file.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start()), 120_000);
afterAll(() => cluster.stop(), 30_000);
jest.setTimeout(60_000);

const STRATEGIES = ['functions', 'transactions'] as const;

/**
 * As test/kv.contract.spec.ts: one app per strategy (wiring and FUNCTION LOAD on every master are most of a test's
 * time), its namespace emptied before each test — FLUSHDB on the master that owns the namespace's slot, where all
 * its keys live (the functions stay).
 */
describe.each(STRATEGIES)('conditional store (kv) contract on a Redis Cluster — %s', (strategy) => {
  let shared: KvFixture | undefined;
  afterAll(() => shared?.close());

  kvContract(async () => {
    shared ??= await kvFixture(strategy, cluster);
    await shared.client!.flushdb();
    return { ...shared, close: async () => undefined };
  });
});

describe('on a Redis Cluster', () => {
  kvConcurrencySuite(() => cluster, STRATEGIES);
});
