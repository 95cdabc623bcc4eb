/**
 * The conditional store's HTTP API end to end: the real app (createApp + loadConfig) through Fastify's inject,
 * on a private redis-server per strategy. Every 4xx is checked for side effects (the raw keyspace and the keys
 * as the API shows them are unchanged); a validation failure must not send Redis a single command.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const STRATEGIES: AtomicStrategy[] = ['functions', 'transactions', 'memory'];

interface Res {
  status: number;
  body: any;
  headers: Record<string, unknown>;
}

async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

describe.each(STRATEGIES)('kv HTTP API, strategy %s', (strategy) => {
  let app: NestFastifyApplication;
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let n = 0;
  const uid = (prefix: string) => `${prefix}-${++n}`;

  const call = async (method: 'GET' | 'POST', url: string, payload?: object, headers: Record<string, string> = {}): Promise<Res> => {
    const res = await app.inject({ method, url, payload, headers });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
  };
  const txn = (body: object, headers?: Record<string, string>) => call('POST', '/kv/transactions', body, headers);
  const get = (key: string) => call('GET', `/kv/${key}`);

  async function expectRejected(body: object, status: number, code: string, watch: string[], noCommands = false) {
    const observe = async () => ({ api: await Promise.all(watch.map((key) => get(key).then((r) => r.body))), raw: client ? await keyspaceSnapshot(client) : '' });
    const before = await observe();
    const callsBefore = client ? await commandCalls(client) : 0;
    const res = await txn(body);
    const callsAfter = client ? await commandCalls(client) : 0;
    expect(res).toMatchObject({ status, body: { statusCode: status, code, message: expect.any(String) } });
    expect(await observe()).toEqual(before);
    if (client && noCommands) expect(callsAfter - callsBefore).toBe(1); // only the first INFO
    return res.body;
  }

  beforeAll(async () => {
    if (strategy !== 'memory') {
      server = await RedisServer.start();
      client = server.client();
    }
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0' }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('POST /kv/transactions → 200 {applied, updates}; GET /kv/:key → 200 {key, type, value}', async () => {
    const [s, h] = [uid('s'), uid('h')];
    expect(await txn({ updates: [{ op: 'set', key: s, value: 'v1' }, { op: 'hset', key: h, field: 'f', value: 7 }, { op: 'hincrby', key: h, field: 'f', by: 3 }] }))
      .toMatchObject({ status: 200, body: { applied: true, updates: 3 } });
    expect(await get(s)).toMatchObject({ status: 200, body: { key: s, type: 'string', value: 'v1' } });
    expect(await get(h)).toMatchObject({ status: 200, body: { key: h, type: 'hash', value: { f: '10' } } });
    expect(await txn({ conditions: [{ key: s, op: 'eq', value: 'v1' }, { key: h, field: 'f', op: 'gte', value: 10 }],
      updates: [{ op: 'set', key: s, value: 'v2' }, { op: 'expire', key: s, seconds: 60 }] })).toMatchObject({ status: 200, body: { applied: true, updates: 2 } });
    expect(await get(s)).toMatchObject({ status: 200, body: { key: s, type: 'string', value: 'v2', ttlSeconds: expect.any(Number) } });
    if (client) expect(await client.get(`ra:{kv}:kv:${s}`)).toBe('v2'); // the kv namespace's hash tag
  });

  it('404 KEY_NOT_FOUND for an absent key', async () => {
    const key = uid('none');
    expect(await get(key)).toMatchObject({ status: 404, body: { statusCode: 404, code: 'KEY_NOT_FOUND', key } });
  });

  it('409 CONDITION_FAILED with the first failing index; nothing written', async () => {
    const [a, b] = [uid('a'), uid('b')];
    await txn({ updates: [{ op: 'set', key: a, value: 1 }] });
    const body = await expectRejected({ conditions: [{ key: a, op: 'exists' }, { key: a, op: 'gt', value: 5 }, { key: b, op: 'exists' }],
      updates: [{ op: 'set', key: b, value: 'x' }, { op: 'incrby', key: a, by: 1 }] }, 409, 'CONDITION_FAILED', [a, b]);
    expect(body).toMatchObject({ index: 1, key: a, op: 'gt' });
  });

  it('422 WRONG_TYPE, NOT_AN_INTEGER, INTEGER_OVERFLOW before any write', async () => {
    const [s, h] = [uid('s'), uid('h')];
    await txn({ updates: [{ op: 'set', key: s, value: 'text' }, { op: 'hset', key: h, field: 'f', value: 'x' }] });
    expect(await expectRejected({ updates: [{ op: 'set', key: s, value: 'y' }, { op: 'incrby', key: h, by: 1 }] }, 422, 'WRONG_TYPE', [s, h]))
      .toMatchObject({ in: 'update', index: 1, key: h, type: 'hash' });
    expect(await expectRejected({ updates: [{ op: 'hset', key: s, field: 'f', value: 'y' }] }, 422, 'WRONG_TYPE', [s, h]))
      .toMatchObject({ in: 'update', index: 0, key: s, field: 'f', type: 'string' });
    expect(await expectRejected({ conditions: [{ key: h, op: 'exists' }], updates: [{ op: 'del', key: s }] }, 422, 'WRONG_TYPE', [s, h]))
      .toMatchObject({ in: 'condition', index: 0, key: h });
    expect(await expectRejected({ updates: [{ op: 'del', key: h }, { op: 'incrby', key: s, by: 1 }] }, 422, 'NOT_AN_INTEGER', [s, h]))
      .toMatchObject({ in: 'update', index: 1, key: s });
    expect(await expectRejected({ conditions: [{ key: h, field: 'f', op: 'lt', value: 3 }], updates: [{ op: 'del', key: s }] }, 422, 'NOT_AN_INTEGER', [s, h]))
      .toMatchObject({ in: 'condition', index: 0, key: h, field: 'f' });
    const c = uid('c');
    await txn({ updates: [{ op: 'set', key: c, value: Number.MAX_SAFE_INTEGER }] });
    await expectRejected({ updates: [{ op: 'del', key: s }, { op: 'incrby', key: c, by: 1 }] }, 422, 'INTEGER_OVERFLOW', [s, c]);
  });

  it.each([
    ['updates missing', {}],
    ['33 updates', { updates: Array.from({ length: 33 }, () => ({ op: 'del', key: 'a' })) }],
    ['an unknown property', { updates: [{ op: 'del', key: 'a' }], other: 1 }],
    ['a key outside the allowlist (another namespace)', { updates: [{ op: 'set', key: '{main}:balance:x', value: 1 }] }],
    ['a key with a colon', { updates: [{ op: 'del', key: 'account:x' }] }],
    ['an unsafe integer', { updates: [{ op: 'incrby', key: 'a', by: 9007199254740992 }] }],
    ['an unknown op', { updates: [{ op: 'flushall', key: 'a' }] }],
    ['a __proto__ property', JSON.parse('{"updates":[{"op":"del","key":"a","__proto__":{"x":1}}]}')],
  ])('400 VALIDATION_FAILED for %s; Redis is not asked', async (_, body) => {
    await expectRejected(body, 400, 'VALIDATION_FAILED', ['a'], true);
  });

  it('400 for a bad key in the path', async () => {
    expect(await get('a%3Ab')).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await get('x'.repeat(65))).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
  });

  it('Idempotency-Key: a retry replays the answer (Idempotent-Replayed: true) and writes nothing; errors replay too', async () => {
    const c = uid('c');
    const key = { 'idempotency-key': uid('idem') };
    const first = await txn({ updates: [{ op: 'incrby', key: c, by: 5 }] }, key);
    expect(first).toMatchObject({ status: 200, body: { applied: true, updates: 1 } });
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await txn({ updates: [{ op: 'incrby', key: c, by: 5 }] }, key);
    expect(again).toMatchObject({ status: 200, body: first.body, headers: { 'idempotent-replayed': 'true' } });
    expect((await get(c)).body.value).toBe('5');
    expect(await txn({ updates: [{ op: 'incrby', key: c, by: 6 }] }, key)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_MISMATCH' } });

    const guard = { 'idempotency-key': uid('idem') };
    const failed = { conditions: [{ key: c, op: 'absent' }], updates: [{ op: 'del', key: c }] };
    expect(await txn(failed, guard)).toMatchObject({ status: 409, body: { code: 'CONDITION_FAILED', index: 0 } });
    expect(await txn(failed, guard)).toMatchObject({ status: 409, body: { code: 'CONDITION_FAILED' }, headers: { 'idempotent-replayed': 'true' } });
    expect(await txn({ updates: [{ op: 'del', key: c }] }, { 'idempotency-key': 'bad\tkey' })).toMatchObject({ status: 400 });
  });
});
