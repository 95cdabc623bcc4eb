import { randomBytes } from 'node:crypto';
import { isReplayed } from '@kernel/core';
import type { ConditionalStore, KvCondition, KvTransaction, KvUpdate } from '../../src/kv/kv.port';
import type { KvFixture } from '../support/kv-fixture';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The conditional store's contract: one suite, run against every adapter (memory, functions, transactions).
 * A caller must not be able to tell the adapters apart except by speed. Each test gets a fresh namespace.
 */
export function kvContract(makeFixture: () => Promise<KvFixture>): void {
  let fixture: KvFixture;
  let store: ConditionalStore;

  beforeEach(async () => {
    fixture = await makeFixture();
    store = fixture.store;
  });
  afterEach(() => fixture.close());

  const tx = (updates: KvUpdate[], conditions?: KvCondition[]): KvTransaction => (conditions ? { conditions, updates } : { updates });
  const run = (updates: KvUpdate[], conditions?: KvCondition[]) => store.transaction(tx(updates, conditions));
  const value = async (key: string) => (await store.get(key).catch(() => null))?.value ?? null;

  /** What the port shows of these keys, plus the raw keyspace for Redis. */
  async function snapshot(keys: string[]): Promise<unknown> {
    return { entries: await Promise.all(keys.map((key) => store.get(key).catch((e) => e.code))), raw: await fixture.rawSnapshot?.() };
  }

  async function expectRejectedUnchanged(operation: () => Promise<unknown>, code: string, details?: object, keys = ['a', 'b', 'h', 'n', 's']) {
    const before = await snapshot(keys);
    const error = await operation().then(() => undefined, (e) => e);
    expect(error).toMatchObject({ code, ...(details && { details }) });
    expect(await snapshot(keys)).toEqual(before);
    return error;
  }

  /** s = 'hello', n = '10', h = {f: 'x', c: '5'} */
  async function seed() {
    await run([{ op: 'set', key: 's', value: 'hello' }, { op: 'set', key: 'n', value: 10 }, { op: 'hset', key: 'h', field: 'f', value: 'x' },
      { op: 'hset', key: 'h', field: 'c', value: '5' }]);
  }

  describe('event log', () => {
    it('an applied transaction appends one kv.transaction event listing its updates in order', async () => {
      await run([{ op: 'set', key: 's', value: 'hello' }, { op: 'incrby', key: 'n', by: MAX }, { op: 'hset', key: 'h', field: 'f', value: 'x' },
        { op: 'expire', key: 's', seconds: 60 }, { op: 'del', key: 'b' }], [{ key: 'a', op: 'absent' }]);
      expect(await fixture.events()).toEqual([{ id: expect.stringMatching(/^\d+-\d+$/), type: 'kv.transaction', at: expect.any(String),
        data: { updates: [{ key: 's', op: 'set', value: 'hello' }, { key: 'n', op: 'incrby', by: MAX },
          { key: 'h', op: 'hset', field: 'f', value: 'x' }, { key: 's', op: 'expire', seconds: 60 }, { key: 'b', op: 'del' }] } }]);
      await run([{ op: 'hdel', key: 'h', field: 'f' }]);
      expect((await fixture.events()).map((e) => e.data)).toEqual([expect.anything(), { updates: [{ key: 'h', op: 'hdel', field: 'f' }] }]);
    });

    it('failures, validation errors and idempotent replays append nothing', async () => {
      await seed();
      const k = `k-${randomBytes(4).toString('hex')}`;
      await store.transaction(tx([{ op: 'incrby', key: 'n', by: 1 }]), { idempotencyKey: k });
      const before = await fixture.events();
      expect(before).toHaveLength(2);
      await expect(run([{ op: 'set', key: 'a', value: 'x' }], [{ key: 's', op: 'eq', value: 'nope' }])).rejects.toMatchObject({ code: 'CONDITION_FAILED' });
      await expect(run([{ op: 'incrby', key: 's', by: 1 }])).rejects.toMatchObject({ code: 'NOT_AN_INTEGER' });
      await expect(run([{ op: 'hset', key: 's', field: 'f', value: 'x' }])).rejects.toMatchObject({ code: 'WRONG_TYPE' });
      await expect(run([{ op: 'incrby', key: 'n', by: MAX }])).rejects.toMatchObject({ code: 'INTEGER_OVERFLOW' });
      await expect(run([])).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(isReplayed(await store.transaction(tx([{ op: 'incrby', key: 'n', by: 1 }]), { idempotencyKey: k }))).toBe(true);
      expect(await fixture.events()).toEqual(before);
    });
  });

  describe('updates', () => {
    it('set / hset, then get: strings, integers as text, hashes', async () => {
      await expect(run([{ op: 'set', key: 's', value: 'hello' }, { op: 'set', key: 'n', value: -42 },
        { op: 'hset', key: 'h', field: 'f', value: 'x' }, { op: 'hset', key: 'h', field: 'g', value: MAX }]))
        .resolves.toEqual({ applied: true, updates: 4 });
      await expect(store.get('s')).resolves.toEqual({ key: 's', type: 'string', value: 'hello' });
      await expect(store.get('n')).resolves.toEqual({ key: 'n', type: 'string', value: '-42' });
      await expect(store.get('h')).resolves.toEqual({ key: 'h', type: 'hash', value: { f: 'x', g: String(MAX) } });
      if (fixture.client) {
        expect(await fixture.client.get(fixture.redisKey('s'))).toBe('hello');
        expect(await fixture.client.hgetall(fixture.redisKey('h'))).toEqual({ f: 'x', g: String(MAX) });
        const keys = (await fixture.client.keys(`ra:{${fixture.namespace}}:*`)).sort();
        // the namespace's kind only (and its event log), one hash tag
        expect(keys).toEqual([`ra:{${fixture.namespace}}:events`, ...['h', 'n', 's'].map(fixture.redisKey)]);
      }
    });

    it('keeps any text up to 4096 bytes exactly (unicode, newlines, JSON, braces, empty)', async () => {
      const values = ['', 'a\nb\r\n', '{"x":[1,2]}', 'héllo — 日本', 'ü'.repeat(2048), '{tag}:*', '0', '-0', '007'];
      await run(values.map((v, i) => ({ op: 'set', key: `v${i}`, value: v })));
      for (const [i, v] of values.entries()) await expect(store.get(`v${i}`)).resolves.toEqual({ key: `v${i}`, type: 'string', value: v });
    });

    it('incrby: absent counts as 0, negatives, exact up to the largest safe integer, and not one more', async () => {
      await expect(run([{ op: 'incrby', key: 'a', by: 5 }])).resolves.toEqual({ applied: true, updates: 1 });
      await run([{ op: 'incrby', key: 'a', by: -8 }]);
      expect(await value('a')).toBe('-3');
      await run([{ op: 'set', key: 'b', value: MAX - 1 }, { op: 'incrby', key: 'b', by: 1 }]);
      expect(await value('b')).toBe(String(MAX));
      await expectRejectedUnchanged(() => run([{ op: 'incrby', key: 'b', by: 1 }]), 'INTEGER_OVERFLOW', { in: 'update', index: 0, key: 'b' });
      await run([{ op: 'set', key: 'b', value: -MAX }]);
      await expectRejectedUnchanged(() => run([{ op: 'incrby', key: 'a', by: 1 }, { op: 'incrby', key: 'b', by: -1 }]),
        'INTEGER_OVERFLOW', { in: 'update', index: 1, key: 'b' });
      expect(await value('a')).toBe('-3'); // the first update was not applied either
    });

    it('hincrby: an absent field counts as 0, overflow refused; hdel; an emptied hash disappears', async () => {
      await run([{ op: 'hincrby', key: 'h', field: 'c', by: 7 }, { op: 'hincrby', key: 'h', field: 'c', by: -2 }, { op: 'hset', key: 'h', field: 'd', value: 'x' }]);
      await expect(store.get('h')).resolves.toEqual({ key: 'h', type: 'hash', value: { c: '5', d: 'x' } });
      await expectRejectedUnchanged(() => run([{ op: 'hincrby', key: 'h', field: 'c', by: MAX }]), 'INTEGER_OVERFLOW',
        { in: 'update', index: 0, key: 'h', field: 'c' });
      await run([{ op: 'hdel', key: 'h', field: 'c' }, { op: 'hdel', key: 'h', field: 'nope' }, { op: 'hdel', key: 'ghost', field: 'x' }]);
      await expect(store.get('h')).resolves.toEqual({ key: 'h', type: 'hash', value: { d: 'x' } });
      await run([{ op: 'hdel', key: 'h', field: 'd' }]);
      await expect(store.get('h')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', details: { key: 'h' } });
      await expect(store.get('ghost')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    });

    it('del removes strings and hashes; absent keys are fine', async () => {
      await seed();
      await expect(run([{ op: 'del', key: 's' }, { op: 'del', key: 'h' }, { op: 'del', key: 'ghost' }])).resolves.toEqual({ applied: true, updates: 3 });
      for (const key of ['s', 'h']) await expect(store.get(key)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND', details: { key } });
      expect(await value('n')).toBe('10');
    });

    it('each update sees the effects of the previous ones (types, values, emptied hashes)', async () => {
      await seed();
      await run([
        { op: 'del', key: 'h' }, { op: 'incrby', key: 'h', by: 2 }, // the hash is gone: h is a counter now
        { op: 'set', key: 's', value: 1 }, { op: 'incrby', key: 's', by: 1 }, // 'hello' replaced by an integer
        { op: 'hset', key: 'x', field: 'f', value: 'v' }, { op: 'hdel', key: 'x', field: 'f' }, { op: 'incrby', key: 'x', by: 3 },
        { op: 'set', key: 'n', value: 'text' }, { op: 'del', key: 'n' }, { op: 'hset', key: 'n', field: 'f', value: 'v' },
      ]);
      await expect(store.get('h')).resolves.toEqual({ key: 'h', type: 'string', value: '2' });
      await expect(store.get('s')).resolves.toEqual({ key: 's', type: 'string', value: '2' });
      await expect(store.get('x')).resolves.toEqual({ key: 'x', type: 'string', value: '3' });
      await expect(store.get('n')).resolves.toEqual({ key: 'n', type: 'hash', value: { f: 'v' } });
    });

    it('set replaces a hash (as SET does)', async () => {
      await seed();
      await run([{ op: 'set', key: 'h', value: 'now a string' }]);
      await expect(store.get('h')).resolves.toEqual({ key: 'h', type: 'string', value: 'now a string' });
    });

    it('expire sets a TTL; incrby/hset keep it; set clears it; absent keys are a no-op', async () => {
      await seed();
      await run([{ op: 'expire', key: 'n', seconds: 100 }, { op: 'expire', key: 'h', seconds: 3600 }, { op: 'expire', key: 'ghost', seconds: 5 },
        { op: 'incrby', key: 'n', by: 1 }, { op: 'hset', key: 'h', field: 'z', value: 'z' }]);
      const n = await store.get('n');
      expect(n).toEqual({ key: 'n', type: 'string', value: '11', ttlSeconds: expect.any(Number) });
      expect(n.ttlSeconds).toBeGreaterThan(95);
      expect(n.ttlSeconds).toBeLessThanOrEqual(100);
      expect((await store.get('h')).ttlSeconds).toBeGreaterThan(3590);
      await expect(store.get('ghost')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
      if (fixture.client) expect(await fixture.client.ttl(fixture.redisKey('n'))).toBeGreaterThan(95);
      await run([{ op: 'set', key: 'n', value: 'x' }]);
      await expect(store.get('n')).resolves.toEqual({ key: 'n', type: 'string', value: 'x' });
      await run([{ op: 'set', key: 'e', value: 'x' }, { op: 'expire', key: 'e', seconds: 1 }]); // set then expire: the TTL holds
      expect((await store.get('e')).ttlSeconds).toBe(1);
    });

    it('an expired key is gone', async () => {
      await run([{ op: 'set', key: 'e', value: 'x' }, { op: 'expire', key: 'e', seconds: 1 }]);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await expect(store.get('e')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
      await expect(run([{ op: 'incrby', key: 'e', by: 1 }], [{ key: 'e', op: 'absent' }])).resolves.toEqual({ applied: true, updates: 1 });
    });
  });

  describe('conditions', () => {
    beforeEach(seed);

    const cases: [string, KvCondition, boolean][] = [
      ['eq on a string', { key: 's', op: 'eq', value: 'hello' }, true],
      ['eq, other text', { key: 's', op: 'eq', value: 'hell' }, false],
      ['eq on an integer given as a number', { key: 'n', op: 'eq', value: 10 }, true],
      ['eq compares text, not numbers', { key: 'n', op: 'eq', value: '10.0' }, false],
      ['eq on an absent key', { key: 'ghost', op: 'eq', value: '' }, false],
      ['ne', { key: 's', op: 'ne', value: 'bye' }, true],
      ['ne, equal', { key: 's', op: 'ne', value: 'hello' }, false],
      ['ne on an absent key', { key: 'ghost', op: 'ne', value: 'x' }, true],
      ['gt', { key: 'n', op: 'gt', value: 9 }, true],
      ['gt, equal', { key: 'n', op: 'gt', value: 10 }, false],
      ['gte, equal', { key: 'n', op: 'gte', value: '10' }, true],
      ['gte', { key: 'n', op: 'gte', value: 11 }, false],
      ['lt', { key: 'n', op: 'lt', value: 11 }, true],
      ['lt, equal', { key: 'n', op: 'lt', value: 10 }, false],
      ['lte, equal', { key: 'n', op: 'lte', value: 10 }, true],
      ['lte with a negative', { key: 'n', op: 'lte', value: -10 }, false],
      ['gt on an absent key', { key: 'ghost', op: 'gt', value: -MAX }, false],
      ['lt on an absent key', { key: 'ghost', op: 'lt', value: MAX }, false],
      ['exists', { key: 's', op: 'exists' }, true],
      ['exists on an absent key', { key: 'ghost', op: 'exists' }, false],
      ['absent', { key: 'ghost', op: 'absent' }, true],
      ['absent on a present key', { key: 'n', op: 'absent' }, false],
      ['eq on a hash field', { key: 'h', field: 'f', op: 'eq', value: 'x' }, true],
      ['ne on a hash field', { key: 'h', field: 'f', op: 'ne', value: 'x' }, false],
      ['gt on a hash field', { key: 'h', field: 'c', op: 'gt', value: 4 }, true],
      ['lte on a hash field', { key: 'h', field: 'c', op: 'lte', value: 4 }, false],
      ['exists on an absent field', { key: 'h', field: 'nope', op: 'exists' }, false],
      ['absent on an absent field', { key: 'h', field: 'nope', op: 'absent' }, true],
      ['absent on a field of an absent key', { key: 'ghost', field: 'f', op: 'absent' }, true],
      ['eq on a field of an absent key', { key: 'ghost', field: 'f', op: 'eq', value: 'x' }, false],
    ];

    it.each(cases)('%s → %p', async (_, condition, holds) => {
      const transaction = () => run([{ op: 'incrby', key: 'a', by: 1 }], [{ key: 's', op: 'exists' }, condition]);
      if (holds) {
        await expect(transaction()).resolves.toEqual({ applied: true, updates: 1 });
        expect(await value('a')).toBe('1');
      } else {
        const details = { index: 1, key: condition.key, op: condition.op, ...(condition.field && { field: condition.field }) };
        const error = await expectRejectedUnchanged(transaction, 'CONDITION_FAILED', details);
        expect(error.details).toEqual(details);
      }
    });

    it('reports the first failing condition, and writes nothing', async () => {
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 'x' }], [
        { key: 's', op: 'eq', value: 'hello' }, { key: 'n', op: 'gt', value: 100 }, { key: 's', op: 'absent' },
      ]), 'CONDITION_FAILED', { index: 1, key: 'n', op: 'gt' });
    });

    it('evaluates every condition on the state before the updates', async () => {
      await expect(run([{ op: 'set', key: 's', value: 'bye' }, { op: 'incrby', key: 'n', by: 5 }],
        [{ key: 's', op: 'eq', value: 'hello' }, { key: 'n', op: 'eq', value: 10 }, { key: 'a', op: 'absent' }]))
        .resolves.toEqual({ applied: true, updates: 2 });
      expect([await value('s'), await value('n')]).toEqual(['bye', '15']);
    });

    it('compares integers exactly near 2^53', async () => {
      await run([{ op: 'set', key: 'a', value: MAX }, { op: 'set', key: 'b', value: -MAX }]);
      await expect(run([{ op: 'set', key: 'x', value: 1 }], [{ key: 'a', op: 'gt', value: MAX - 1 }, { key: 'a', op: 'eq', value: MAX },
        { key: 'b', op: 'lt', value: -MAX + 1 }])).resolves.toEqual({ applied: true, updates: 1 });
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'x', value: 2 }], [{ key: 'a', op: 'gt', value: MAX }]), 'CONDITION_FAILED');
    });

    it.each([
      ['text', 'hello'], ['a decimal', '1.5'], ['a padded integer', ' 5'], ['a leading zero', '05'], ['a plus sign', '+5'],
      ['an exponent', '1e3'], ['beyond 2^53', '9007199254740992'], ['empty', ''],
    ])('an integer comparison on %s is NOT_AN_INTEGER, before any write', async (_, stored) => {
      await run([{ op: 'set', key: 'b', value: stored }, { op: 'hset', key: 'h', field: 'g', value: stored }]);
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }], [{ key: 'n', op: 'gt', value: 1 }, { key: 'b', op: 'lt', value: 5 }]),
        'NOT_AN_INTEGER', { in: 'condition', index: 1, key: 'b' });
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }], [{ key: 'h', field: 'g', op: 'gte', value: 5 }]),
        'NOT_AN_INTEGER', { in: 'condition', index: 0, key: 'h', field: 'g' });
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }, { op: 'incrby', key: 'b', by: 1 }]),
        'NOT_AN_INTEGER', { in: 'update', index: 1, key: 'b' });
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }, { op: 'hincrby', key: 'h', field: 'g', by: 1 }]),
        'NOT_AN_INTEGER', { in: 'update', index: 1, key: 'h', field: 'g' });
      await expect(run([{ op: 'set', key: 'a', value: 1 }], [{ key: 'b', op: 'eq', value: stored }])).resolves.toEqual({ applied: true, updates: 1 });
    });
  });

  describe('wrong types: refused before any write', () => {
    beforeEach(seed);

    it.each<[string, KvUpdate[], KvCondition[], object]>([
      ['a condition without field on a hash', [{ op: 'set', key: 'a', value: 1 }], [{ key: 'h', op: 'exists' }],
        { in: 'condition', index: 0, key: 'h', type: 'hash' }],
      ['a condition on a field of a string', [{ op: 'set', key: 'a', value: 1 }], [{ key: 'n', op: 'exists' }, { key: 's', field: 'f', op: 'absent' }],
        { in: 'condition', index: 1, key: 's', field: 'f', type: 'string' }],
      ['incrby on a hash', [{ op: 'set', key: 'a', value: 1 }, { op: 'incrby', key: 'h', by: 1 }], [],
        { in: 'update', index: 1, key: 'h', type: 'hash' }],
      ['hset on a string', [{ op: 'set', key: 'a', value: 1 }, { op: 'hset', key: 's', field: 'f', value: 'v' }], [],
        { in: 'update', index: 1, key: 's', field: 'f', type: 'string' }],
      ['hincrby on a string', [{ op: 'incrby', key: 'n', by: 1 }, { op: 'hincrby', key: 'n', field: 'f', by: 1 }], [],
        { in: 'update', index: 1, key: 'n', field: 'f', type: 'string' }],
      ['hdel on a string', [{ op: 'set', key: 'a', value: 1 }, { op: 'hdel', key: 's', field: 'f' }], [],
        { in: 'update', index: 1, key: 's', field: 'f', type: 'string' }],
      ['hset after set in the same transaction', [{ op: 'set', key: 'a', value: 1 }, { op: 'hset', key: 'a', field: 'f', value: 'v' }], [],
        { in: 'update', index: 1, key: 'a', field: 'f', type: 'string' }],
      ['incrby after hset in the same transaction', [{ op: 'hset', key: 'a', field: 'f', value: '1' }, { op: 'incrby', key: 'a', by: 1 }], [],
        { in: 'update', index: 1, key: 'a', type: 'hash' }],
    ])('%s → WRONG_TYPE', async (_, updates, conditions, details) => {
      const error = await expectRejectedUnchanged(() => run(updates, conditions), 'WRONG_TYPE', details);
      expect(error.details).toEqual(details);
    });

    it('a condition failing before a wrong-typed update is reported first (conditions, then updates)', async () => {
      await expectRejectedUnchanged(() => run([{ op: 'incrby', key: 'h', by: 1 }], [{ key: 's', op: 'absent' }]),
        'CONDITION_FAILED', { index: 0 });
    });

    it('a key of a type this store never writes (Redis): WRONG_TYPE, and get refuses it', async () => {
      if (!fixture.client) return;
      await fixture.client.rpush(fixture.redisKey('l'), 'x');
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }, { op: 'incrby', key: 'l', by: 1 }]), 'WRONG_TYPE',
        { in: 'update', index: 1, key: 'l', type: 'list' });
      await expectRejectedUnchanged(() => run([{ op: 'set', key: 'a', value: 1 }], [{ key: 'l', op: 'exists' }]), 'WRONG_TYPE',
        { in: 'condition', index: 0, key: 'l', type: 'list' });
      await expect(store.get('l')).rejects.toMatchObject({ code: expect.stringMatching(/^(WRONG_TYPE|STORE_CORRUPTED)$/) });
      await run([{ op: 'del', key: 'l' }]); // del takes any type
      await expect(store.get('l')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    });
  });

  describe('limits and validation', () => {
    it('takes 32 conditions and 32 updates', async () => {
      const conditions = Array.from({ length: 32 }, (_, i): KvCondition => ({ key: `k${i}`, op: 'absent' }));
      const updates = Array.from({ length: 32 }, (_, i): KvUpdate => ({ op: 'incrby', key: `k${i}`, by: i }));
      await expect(run(updates, conditions)).resolves.toEqual({ applied: true, updates: 32 });
      expect(await value('k31')).toBe('31');
    });

    const long = 'x'.repeat(4097);
    const invalid: [string, unknown][] = [
      ['33 conditions', { conditions: Array.from({ length: 33 }, () => ({ key: 'a', op: 'exists' })), updates: [{ op: 'del', key: 'a' }] }],
      ['33 updates', { updates: Array.from({ length: 33 }, () => ({ op: 'del', key: 'a' })) }],
      ['no updates', { updates: [] }],
      ['updates missing', { conditions: [] }],
      ['conditions not an array', { conditions: {}, updates: [{ op: 'del', key: 'a' }] }],
      ['an unknown top-level property', { updates: [{ op: 'del', key: 'a' }], extra: 1 }],
      ['a key with a colon', { updates: [{ op: 'set', key: 'a:b', value: 'x' }] }],
      ['a key with a hash tag', { updates: [{ op: 'set', key: 'a{b}', value: 'x' }] }],
      ['a 65-character key', { updates: [{ op: 'del', key: 'k'.repeat(65) }] }],
      ['a key with a space', { updates: [{ op: 'del', key: 'a b' }] }],
      ['a condition key with a wildcard', { conditions: [{ key: 'a*', op: 'exists' }], updates: [{ op: 'del', key: 'a' }] }],
      ['a bad field', { updates: [{ op: 'hset', key: 'h', field: 'f:1', value: 'x' }] }],
      ['a missing field', { updates: [{ op: 'hset', key: 'h', value: 'x' }] }],
      ['an unknown update op', { updates: [{ op: 'append', key: 'a', value: 'x' }] }],
      ['an unknown condition op', { conditions: [{ key: 'a', op: 'like', value: 'x' }], updates: [{ op: 'del', key: 'a' }] }],
      ['eq without a value', { conditions: [{ key: 'a', op: 'eq' }], updates: [{ op: 'del', key: 'a' }] }],
      ['exists with a value', { conditions: [{ key: 'a', op: 'exists', value: 'x' }], updates: [{ op: 'del', key: 'a' }] }],
      ['gt with a non-integer value', { conditions: [{ key: 'a', op: 'gt', value: '1.5' }], updates: [{ op: 'del', key: 'a' }] }],
      ['gt with an unsafe value', { conditions: [{ key: 'a', op: 'gt', value: MAX + 1 }], updates: [{ op: 'del', key: 'a' }] }],
      ['a value of 4097 bytes', { updates: [{ op: 'set', key: 'a', value: long }] }],
      ['a value of 2049 two-byte characters', { updates: [{ op: 'set', key: 'a', value: 'ü'.repeat(2049) }] }],
      ['a fractional value', { updates: [{ op: 'set', key: 'a', value: 1.5 }] }],
      ['an unsafe integer value', { updates: [{ op: 'set', key: 'a', value: 2 ** 53 }] }],
      ['an object value', { updates: [{ op: 'set', key: 'a', value: { x: 1 } }] }],
      ['a null value', { updates: [{ op: 'set', key: 'a', value: null }] }],
      ['a fractional by', { updates: [{ op: 'incrby', key: 'a', by: 0.5 }] }],
      ['an unsafe by', { updates: [{ op: 'incrby', key: 'a', by: MAX + 1 }] }],
      ['a string by', { updates: [{ op: 'incrby', key: 'a', by: '5' }] }],
      ['expire 0 seconds', { updates: [{ op: 'expire', key: 'a', seconds: 0 }] }],
      ['expire for too long', { updates: [{ op: 'expire', key: 'a', seconds: 315_360_001 }] }],
      ['an unknown update property', { updates: [{ op: 'set', key: 'a', value: 'x', ttl: 5 }] }],
      ['a field on set', { updates: [{ op: 'set', key: 'a', field: 'f', value: 'x' }] }],
      ['an update that is not an object', { updates: ['set a 1'] }],
      ['not an object', 'SET a 1'],
    ];

    it.each(invalid)('refuses %s with VALIDATION_FAILED and writes nothing', async (_, body) => {
      await run([{ op: 'set', key: 'a', value: 'keep' }]);
      await expectRejectedUnchanged(() => store.transaction(body as KvTransaction), 'VALIDATION_FAILED');
    });

    it.each(['a:b', 'a{b}', '', 'x'.repeat(65), 42 as unknown as string])('get refuses the key %p with VALIDATION_FAILED', async (key) => {
      await expect(store.get(key)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'key' } });
    });
  });

  describe('idempotency keys', () => {
    const key = () => `key ${randomBytes(4).toString('hex')} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`;
    const k = (idempotencyKey: string) => ({ idempotencyKey });
    const bump: KvTransaction = { updates: [{ op: 'incrby', key: 'a', by: 1 }] };

    it('a retry replays the first result and writes nothing', async () => {
      const key1 = key();
      const first = await store.transaction(bump, k(key1));
      expect(first).toEqual({ applied: true, updates: 1 });
      expect(isReplayed(first)).toBe(false);
      const after = await snapshot(['a']);
      for (let retry = 0; retry < 3; retry++) {
        const again = await store.transaction(bump, k(key1));
        expect(again).toEqual(first);
        expect(isReplayed(again)).toBe(true);
      }
      expect(await snapshot(['a'])).toEqual(after);
      expect(await value('a')).toBe('1');
      await store.transaction(bump); // the control: no key, a second effect
      expect(await value('a')).toBe('2');
    });

    it('a set-only transaction (no read needed) is exactly-once too', async () => {
      const key1 = key();
      const setA: KvTransaction = { updates: [{ op: 'set', key: 'a', value: 'first' }] };
      await store.transaction(setA, k(key1));
      await store.transaction({ updates: [{ op: 'set', key: 'a', value: 'second' }] });
      expect(isReplayed(await store.transaction(setA, k(key1)))).toBe(true);
      expect(await value('a')).toBe('second');
    });

    it('stores and replays CONDITION_FAILED, even once the condition would hold', async () => {
      const key1 = key();
      const guarded: KvTransaction = { conditions: [{ key: 'a', op: 'exists' }], updates: [{ op: 'set', key: 'b', value: 'x' }] };
      const first = await store.transaction(guarded, k(key1)).catch((e) => e);
      expect(first).toMatchObject({ code: 'CONDITION_FAILED', replayed: false, details: { index: 0, key: 'a', op: 'exists' } });
      await store.transaction({ updates: [{ op: 'set', key: 'a', value: 'now' }] });
      const replayed = await store.transaction(guarded, k(key1)).catch((e) => e);
      expect(replayed).toMatchObject({ code: 'CONDITION_FAILED', replayed: true, details: first.details });
      await expect(store.get('b')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    });

    it('refuses the same key with a different request, writing nothing', async () => {
      const key1 = key();
      await store.transaction(bump, k(key1));
      for (const other of [
        { updates: [{ op: 'incrby', key: 'a', by: 2 }] },
        { updates: [{ op: 'incrby', key: 'b', by: 1 }] },
        { conditions: [{ key: 'a', op: 'exists' }], updates: [{ op: 'incrby', key: 'a', by: 1 }] },
      ] as KvTransaction[]) {
        await expectRejectedUnchanged(() => store.transaction(other, k(key1)), 'IDEMPOTENCY_KEY_MISMATCH');
      }
    });

    it('does not store validation failures; refuses bad keys', async () => {
      const key1 = key();
      await expectRejectedUnchanged(() => store.transaction({ updates: [{ op: 'incrby', key: 'a', by: 0.5 }] }, k(key1)), 'VALIDATION_FAILED');
      expect(isReplayed(await store.transaction(bump, k(key1)))).toBe(false);
      for (const bad of ['', 'x'.repeat(256), 'café', 'a\nb']) {
        await expectRejectedUnchanged(() => store.transaction(bump, k(bad)), 'VALIDATION_FAILED', { field: 'idempotencyKey' });
      }
    });

    it('applies ten concurrent transactions with one key exactly once', async () => {
      const key1 = key();
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => store.transaction(bump, k(key1)).catch((e) => e)));
      const receipts = outcomes.filter((o) => !(o instanceof Error));
      expect(outcomes.filter((o) => o instanceof Error).every((e) => (e as { code?: string }).code === 'IDEMPOTENCY_KEY_IN_PROGRESS')).toBe(true);
      expect(receipts.filter((r) => !isReplayed(r))).toHaveLength(1);
      expect(await value('a')).toBe('1');
    });

    it('keeps the record in the namespace\'s hash slot with the default TTL (Redis)', async () => {
      if (!fixture.client) return;
      await store.transaction(bump, k(key()));
      const records = await fixture.client.keys(`ra:{${fixture.namespace}}:kv-idem:*`);
      expect(records).toEqual([expect.stringMatching(/:kv-idem:[0-9a-f]{40}$/)]);
      expect(await fixture.client.ttl(records[0])).toBeGreaterThan(86_400 - 5);
    });
  });
}
