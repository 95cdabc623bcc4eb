import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { RedisServer } from '@kernel/testing';
import { KvFixture, kvFixture } from '../support/kv-fixture';

/**
 * Redis-specific behaviour of the conditional store: the mechanism the transactions adapter picks per
 * transaction (plain MULTI only when nothing must be read), typed reply shapes of the Lua functions, the library
 * reloaded after FUNCTION FLUSH, and the Lua idempotency wrapper identical to the other libraries'.
 */
let server: RedisServer;
let probe: Redis;
beforeAll(async () => {
  server = await RedisServer.start();
  probe = server.client();
});
afterAll(() => server.stop());

async function calls(command: string): Promise<number> {
  const info = await probe.info('commandstats');
  return Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

describe('kv transactions adapter: the weakest mechanism that is still correct', () => {
  let fixture: KvFixture;
  beforeEach(async () => (fixture = await kvFixture('transactions', server)));
  afterEach(() => fixture.close());

  it('no conditions and only set / del / expire: a plain MULTI (no WATCH; one read: the event log\'s TYPE)', async () => {
    const [watch, multi, type] = [await calls('watch'), await calls('multi'), await calls('type')];
    await fixture.store.transaction({ updates: [{ op: 'set', key: 'a', value: 'x' }, { op: 'expire', key: 'a', seconds: 60 }, { op: 'del', key: 'b' }] });
    expect([await calls('watch') - watch, await calls('multi') - multi, await calls('type') - type]).toEqual([0, 1, 1]);
  });

  it.each([
    ['a condition', { conditions: [{ key: 'a', op: 'absent' as const }], updates: [{ op: 'set' as const, key: 'a', value: 'x' }] }],
    ['an incrby (may be NOT_AN_INTEGER)', { updates: [{ op: 'incrby' as const, key: 'a', by: 1 }] }],
    ['an hset (may be WRONG_TYPE)', { updates: [{ op: 'hset' as const, key: 'a', field: 'f', value: 'x' }] }],
  ])('%s: WATCH, read, then MULTI', async (_, tx) => {
    const [watch, multi] = [await calls('watch'), await calls('multi')];
    await fixture.store.transaction(tx);
    expect([await calls('watch') - watch, await calls('multi') - multi]).toEqual([1, 1]);
  });

  it('a key changed by another client between the read and EXEC is retried from the read, never applied on a stale read', async () => {
    await fixture.store.transaction({ updates: [{ op: 'set', key: 'n', value: 1 }] });
    // CAS writes (SET seen + 1000) racing raw INCRs from another client: a SET applied on a stale read would erase
    // an INCR, so the final value proves every applied CAS saw the value it compared.
    const raw = fixture.redisKey('n');
    let applied = 0;
    await Promise.all([
      (async () => { for (let i = 0; i < 50; i++) await probe.incr(raw); })(),
      (async () => {
        for (let i = 0; i < 30; i++) {
          const seen = (await fixture.store.get('n')).value as string;
          const ok = await fixture.store.transaction({ conditions: [{ key: 'n', op: 'eq', value: seen }], updates: [{ op: 'set', key: 'n', value: Number(seen) + 1000 }] })
            .then(() => true, (e) => (e.code === 'CONDITION_FAILED' || e.code === 'CONFLICT' ? false : Promise.reject(e)));
          if (ok) applied++;
        }
      })(),
    ]);
    expect(Number(await probe.get(raw))).toBe(1 + 50 + 1000 * applied);
  });
});

describe('kv functions adapter', () => {
  let fixture: KvFixture;
  beforeEach(async () => (fixture = await kvFixture('functions', server)));
  afterEach(() => fixture.close());

  it('replies are flat arrays: {replayed, updates}; kv_get {type, value, pttl}; failures are typed error codes', async () => {
    const key = fixture.redisKey('a');
    const conditions = JSON.stringify([]);
    const updates = JSON.stringify([{ k: 1, key: 'a', op: 'hincrby', field: 'f', by: '9007199254740991' }]);
    const events = `ra:{${fixture.namespace}}:events`;
    const event = JSON.stringify({ updates: [{ key: 'a', op: 'hincrby', field: 'f', by: 9007199254740991 }] });
    expect(await probe.call('FCALL', 'kv_update_if_conditions_met', 2, key, events, '', 0, conditions, updates, event, 100))
      .toEqual([0, 1]);
    expect((await probe.xrange(events, '-', '+')).map(([, fields]) => fields)).toEqual([['type', 'kv.transaction', 'data', event]]);
    expect(await probe.call('FCALL_RO', 'kv_get', 1, key, 'a')).toEqual(['hash', ['f', '9007199254740991'], -1]);
    await expect(probe.call('FCALL', 'kv_update_if_conditions_met', 2, key, events, '', 0, conditions, updates, event, 100))
      .rejects.toThrow(/^INTEGER_OVERFLOW \{/);
    expect(await probe.xlen(events)).toBe(1);
    await expect(probe.call('FCALL_RO', 'kv_get', 1, fixture.redisKey('none'), 'none')).rejects.toThrow(/^KEY_NOT_FOUND \{/);
  });

  it('reloads the library after FUNCTION FLUSH (nothing ran, so the retry is safe)', async () => {
    await probe.call('FUNCTION', 'FLUSH');
    await expect(fixture.store.transaction({ updates: [{ op: 'incrby', key: 'a', by: 1 }] })).resolves.toEqual({ applied: true, updates: 1 });
    await expect(fixture.store.get('a')).resolves.toEqual({ key: 'a', type: 'string', value: '1' });
  });
});

describe.each(['functions', 'transactions'] as const)('kv %s adapter: an event log of the wrong type', (strategy) => {
  let fixture: KvFixture;
  beforeEach(async () => (fixture = await kvFixture(strategy, server)));
  afterEach(() => fixture.close());

  it.each([
    ['a plain set', { updates: [{ op: 'set' as const, key: 'a', value: 'x' }] }],
    ['a conditional incrby', { conditions: [{ key: 'a', op: 'absent' as const }], updates: [{ op: 'incrby' as const, key: 'a', by: 1 }] }],
  ])('%s is refused with STORE_CORRUPTED before any write (with and without a key)', async (_, tx) => {
    await probe.set(`ra:{${fixture.namespace}}:events`, 'not a stream');
    const before = await fixture.rawSnapshot!();
    await expect(fixture.store.transaction(tx)).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await expect(fixture.store.transaction(tx, { idempotencyKey: 'k1' })).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    expect(await fixture.rawSnapshot!()).toBe(before);
  });
});
