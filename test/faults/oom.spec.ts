/**
 * Fault injection (issue 4): OUT OF MEMORY mid-run. `CONFIG SET maxmemory 1` (noeviction) after some traffic:
 * every write route answers 503 STORE_UNAVAILABLE (Redis refused the FCALL, or aborted the MULTI with
 * EXECABORT, before running anything), the keyspace is unchanged and no idempotency record is written (a
 * retry later must not find a stored "failure"). Reads keep working. After `CONFIG SET maxmemory 0` the same
 * requests with the same keys succeed — once: a further retry is a replay.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { buildApp, RedisStrategy, send } from './support';

const LEDGER = 'oom';

describe.each<RedisStrategy>(['functions', 'transactions'])('OOM, strategy %s', (strategy) => {
  let server: RedisServer;
  let admin: Redis;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
    app = await buildApp({ ATOMIC_STRATEGY: strategy, REDIS_URL: server.url, LEDGER });
  });

  afterAll(async () => {
    await admin?.config('SET', 'maxmemory', '0').catch(() => undefined);
    await app?.close();
    await server?.stop();
  });

  it('writes → 503 STORE_UNAVAILABLE, keyspace unchanged, no record; after maxmemory 0 the same key succeeds once', async () => {
    // traffic before the fault, keyed and not
    expect((await send(app, 'POST', '/accounts', { id: 'a', balance: 100 }, 'open-a')).status).toBe(201);
    expect((await send(app, 'POST', '/accounts', { id: 'b' })).status).toBe(201);
    expect((await send(app, 'POST', '/transfers', { from: 'a', to: 'b', amount: 10 }, 'before-1')).status).toBe(201);

    const writes: [string, string, unknown, number][] = [
      ['open c', '/accounts', { id: 'c', balance: 5 }, 201],
      ['deposit', '/accounts/a/deposit', { amount: 7 }, 200],
      ['withdraw', '/accounts/a/withdraw', { amount: 3 }, 200],
      ['transfer', '/transfers', { from: 'a', to: 'b', amount: 20 }, 201],
      ['batch', '/transfers/batch', { transfers: [{ from: 'a', to: 'b', amount: 1 }, { from: 'b', to: 'a', amount: 2 }] }, 201],
      // a request the ledger would reject: under OOM it is not even evaluated, so no rejection is stored either
      ['overdraw', '/accounts/b/withdraw', { amount: 1_000 }, 422],
    ];
    const before = await keyspaceSnapshot(admin);
    const records = await admin.keys(`ra:{${LEDGER}}:idem:*`);
    expect(records).toHaveLength(2);

    await admin.config('SET', 'maxmemory', '1');
    try {
      for (const [name, url, body] of writes) {
        for (const key of [`oom-${name}`, undefined]) {
          const res = await send(app, 'POST', url, body, key);
          const answer = { name, key, status: res.status, code: res.body?.code, replayed: res.replayed };
          const unavailable = { name, key, status: 503, code: 'STORE_UNAVAILABLE', replayed: false };
          if (name === 'overdraw' && key === undefined) {
            // a rejection without a key writes nothing: the transactions adapter may still answer it (observed),
            // the FCALL is refused by Redis before it runs
            expect([unavailable, { ...unavailable, status: 422, code: 'INSUFFICIENT_FUNDS' }]).toContainEqual(answer);
          } else {
            expect(answer).toEqual(unavailable);
          }
        }
      }
      // a retry of a key stored before the fault: a replay (it writes nothing) or a safe 503, never a new effect
      // (observed: functions → 503, Redis refuses the FCALL before it can look; transactions → the replay,
      // the record is read before MULTI)
      const replay = await send(app, 'POST', '/transfers', { from: 'a', to: 'b', amount: 10 }, 'before-1');
      expect([{ status: 503, code: 'STORE_UNAVAILABLE', replayed: false }, { status: 201, code: undefined, replayed: true }])
        .toContainEqual({ status: replay.status, code: replay.body?.code, replayed: replay.replayed });
      // reads keep working
      expect(await send(app, 'GET', '/accounts/a')).toMatchObject({ status: 200, body: { balance: 90 } });
      expect(await keyspaceSnapshot(admin)).toBe(before);
      expect(await admin.keys(`ra:{${LEDGER}}:idem:*`)).toEqual(records);
    } finally {
      await admin.config('SET', 'maxmemory', '0');
    }

    // memory is back: the same requests with the same keys succeed, once
    const bodies = new Map<string, unknown>();
    for (const [name, url, body, status] of writes) {
      const res = await send(app, 'POST', url, body, `oom-${name}`);
      expect({ name, status: res.status, replayed: res.replayed }).toEqual({ name, status, replayed: false });
      bodies.set(name, res.body);
    }
    const after = await keyspaceSnapshot(admin);
    for (const [name, url, body, status] of writes) {
      const res = await send(app, 'POST', url, body, `oom-${name}`);
      expect({ name, status: res.status, replayed: res.replayed, body: res.body })
        .toEqual({ name, status, replayed: true, body: bodies.get(name) });
    }
    expect(await keyspaceSnapshot(admin)).toBe(after);
    // a = 100 - 10 (before) + 7 - 3 - 20 - 1 + 2: each write applied exactly once
    expect((await send(app, 'GET', '/accounts/a')).body).toMatchObject({ balance: 75 });
    expect((await send(app, 'GET', '/accounts/b')).body).toMatchObject({ balance: 29 });
    expect((await send(app, 'GET', '/accounts/c')).body).toMatchObject({ balance: 5 });
    expect((await send(app, 'GET', '/accounts/a/history')).body.entries).toHaveLength(6);
  });
});
