import type { AtomicStrategy } from '@kernel/core';
import { isAtomicError } from '@kernel/core';
import type { ConditionalStore, KvCondition, KvUpdate } from '../../src/kv/kv.port';
import { KvFixture, kvFixture } from '../support/kv-fixture';
import type { RedisTarget } from '../support/redis-target';

/**
 * Compare-and-set under contention: many workers read a counter, then increment it only if it still holds what
 * they read (`eq` on the current value, `absent` before it exists). No update may be lost: each counter's final
 * value equals the number of transactions that reported success on it. For Redis, the workers are split over two
 * independent app instances on the same namespace (their own clients and WATCH pools, in-process key queueing
 * off), so only Redis — the FCALL, or WATCH — can keep them apart.
 *
 * Run for every adapter on a private server (test/kv.concurrency.spec.ts) and for the Redis ones on a local cluster
 * (test/cluster/kv.cluster.spec.ts).
 */
const WORKERS = 24;
const ATTEMPTS = 12;
const COUNTERS: { key: string; field?: string }[] = [{ key: 'c0' }, { key: 'c1' }, { key: 'h', field: 'f0' }, { key: 'h', field: 'f1' }];

export function kvConcurrencySuite(target: () => RedisTarget | undefined, strategies: readonly AtomicStrategy[]): void {
  describe.each(strategies)('kv compare-and-set increments — %s', (strategy) => {
    const fixtures: KvFixture[] = [];
    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.close();
    });

    it(`${WORKERS} workers × ${ATTEMPTS} CAS increments on ${COUNTERS.length} counters lose no update`, async () => {
      const first = await kvFixture(strategy, target(), { redis: { watch: { queueSameKeys: false } } });
      fixtures.push(first);
      const stores: ConditionalStore[] = [first.store];
      if (strategy !== 'memory') {
        const second = await kvFixture(strategy, target(), { namespace: first.namespace, redis: { watch: { queueSameKeys: false } } });
        fixtures.push(second);
        stores.push(second.store);
      }
      const applied = COUNTERS.map(() => 0);
      let failedConditions = 0;

      const read = async (store: ConditionalStore, { key, field }: (typeof COUNTERS)[number]): Promise<string | null> => {
        const entry = await store.get(key).catch((e) => (isAtomicError(e, 'KEY_NOT_FOUND') ? null : Promise.reject(e)));
        if (!entry) return null;
        return field === undefined ? (entry.value as string) : ((entry.value as Record<string, string>)[field] ?? null);
      };

      await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
        const store = stores[worker % stores.length];
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          const i = (worker + attempt) % COUNTERS.length;
          const counter = COUNTERS[i];
          const current = await read(store, counter);
          const condition: KvCondition = current === null
            ? { key: counter.key, field: counter.field, op: 'absent' }
            : { key: counter.key, field: counter.field, op: 'eq', value: current };
          if (condition.field === undefined) delete condition.field;
          const update: KvUpdate = counter.field === undefined
            ? { op: 'incrby', key: counter.key, by: 1 }
            : { op: 'hincrby', key: counter.key, field: counter.field, by: 1 };
          try {
            await store.transaction({ conditions: [condition], updates: [update] });
            applied[i]++;
          } catch (error) {
            if (isAtomicError(error, 'CONDITION_FAILED')) failedConditions++;
            else if (!isAtomicError(error, 'CONFLICT')) throw error; // CONFLICT: WATCH gave up, nothing written
          }
        }
      }));

      const finals = await Promise.all(COUNTERS.map((counter) => read(first.store, counter)));
      expect(finals.map((v) => Number(v ?? 0))).toEqual(applied);
      expect(applied.reduce((a, b) => a + b)).toBeGreaterThan(0);
      if (strategy !== 'memory') expect(failedConditions).toBeGreaterThan(0); // the race was real
    });
  });
}
