/**
 * Fault injection (issue 4): RESTART WITHOUT PERSISTENCE. `SHUTDOWN NOSAVE`, then the private server starts
 * again on the same port, empty: no keys, no idempotency records, no function library (pitfall 13).
 *
 * - health reports not ready (503) until the library is reloaded — by the next request that needs it, never by
 *   the probe — shown by keeping the reload impossible (maxmemory 1: FUNCTION LOAD is refused with OOM), then possible;
 * - the next request works without restarting the service (the first FCALL reloads the library by itself);
 * - the accounts are gone and every route says ACCOUNT_NOT_FOUND — never a zero balance, never an account
 *   created by a write, never a replay of a record that was lost with the data.
 *
 * test/e2e/accounts.e2e.spec.ts ("Redis outage") already covers 503 STORE_UNAVAILABLE while the server is
 * down, GET / open / transfer after a restart on both Redis strategies, and the self-reload by a GET; this
 * file adds the health-vs-library check, SHUTDOWN NOSAVE, the reload by a write, and every write route.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { buildApp, HttpRes, RedisStrategy, send, waitFor } from './support';

const LEDGER = 'restart';

describe.each<RedisStrategy>(['functions', 'transactions'])('restart without persistence, strategy %s', (strategy) => {
  let server: RedisServer;
  let admin: Redis;
  let app: NestFastifyApplication;
  const appClient = () => app.get<Redis>(REDIS_CLIENT);
  const health = () => send(app, 'GET', '/health');

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
    app = await buildApp({ ATOMIC_STRATEGY: strategy, REDIS_URL: server.url, LEDGER });
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  /** SHUTDOWN NOSAVE from the admin connection, then the same port again, empty. */
  async function shutdownAndRestart(): Promise<void> {
    // a one-off connection that neither reconnects nor resends: a default client would wait for a reply that
    // never comes, retrying 20 times (10 s), and then send SHUTDOWN again to the restarted server
    const killer = server.client({ retryStrategy: () => null, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false });
    await killer.call('SHUTDOWN', 'NOSAVE').catch(() => undefined); // the connection closes: no reply
    killer.disconnect();
    await waitFor(() => appClient().status !== 'ready', 'the app to notice the server is gone');
    expect((await health()).status).toBe(503);
    await server.restart();
    await waitFor(() => appClient().status === 'ready' && admin.status === 'ready', 'both clients to reconnect');
    expect(await admin.dbsize()).toBe(0);
    expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
  }

  /** Every route that names the lost accounts, with and without idempotency keys (k1 was used before the restart). */
  async function everyRouteSaysNotFound(a: string, b: string): Promise<void> {
    const requests: [string, () => Promise<HttpRes>][] = [
      ['GET account', () => send(app, 'GET', `/accounts/${a}`)],
      ['GET history', () => send(app, 'GET', `/accounts/${a}/history`)],
      ['deposit', () => send(app, 'POST', `/accounts/${a}/deposit`, { amount: 5 })],
      ['deposit (keyed)', () => send(app, 'POST', `/accounts/${a}/deposit`, { amount: 5 }, 'after-1')],
      ['withdraw', () => send(app, 'POST', `/accounts/${a}/withdraw`, { amount: 5 })],
      ['transfer', () => send(app, 'POST', '/transfers', { from: a, to: b, amount: 5 })],
      // the same key and request as before the restart: its record was lost with the data — not a replayed 201
      ['transfer retried with the pre-restart key', () => send(app, 'POST', '/transfers', { from: a, to: b, amount: 30 }, 'k1')],
      ['transfer into the lost account', () => send(app, 'POST', '/transfers', { from: b, to: a, amount: 5 })],
      ['batch', () => send(app, 'POST', '/transfers/batch', { transfers: [{ from: a, to: b, amount: 1 }] })],
    ];
    for (const [name, request] of requests) {
      const res = await request();
      expect({ name, status: res.status, code: res.body?.code, replayed: res.replayed })
        .toEqual({ name, status: 404, code: 'ACCOUNT_NOT_FOUND', replayed: false });
      expect(res.body).not.toHaveProperty('balance');
    }
    // no write created an account (or a history) on the way: still not found, and no such keys
    expect((await send(app, 'GET', `/accounts/${a}`)).status).toBe(404);
    expect(await admin.keys(`ra:{${LEDGER}}:acct:*`)).toEqual([]);
    expect(await admin.keys(`ra:{${LEDGER}}:hist:*`)).toEqual([]);
  }

  it('SHUTDOWN NOSAVE + restart: health not ready until the library is back; accounts gone → ACCOUNT_NOT_FOUND, never a zero balance', async () => {
    expect((await send(app, 'POST', '/accounts', { id: 'a', balance: 100 })).status).toBe(201);
    expect((await send(app, 'POST', '/accounts', { id: 'b' })).status).toBe(201);
    expect((await send(app, 'POST', '/transfers', { from: 'a', to: 'b', amount: 30 }, 'k1')).status).toBe(201);
    expect((await health()).status).toBe(200);

    await shutdownAndRestart();

    if (strategy === 'functions') {
      // the library cannot be reloaded yet (FUNCTION LOAD is refused under OOM): health stays not ready
      await admin.config('SET', 'maxmemory', '1');
      try {
        for (let i = 0; i < 2; i++) {
          const res = await health();
          expect(res.status).toBe(503);
          expect(res.body).toMatchObject({ status: 'unavailable', store: 'redis', strategy });
          expect([res.body.functions].flat()).toContainEqual(expect.objectContaining({ library: 'accounts', version: null }));
        }
        expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
      } finally {
        await admin.config('SET', 'maxmemory', '0');
      }
      // now it can, but a probe only looks: still not ready, still not loaded …
      expect((await health()).status).toBe(503);
      expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
      // … until a request needs the library: it reloads it (for health to be ready, each library is needed once)
      for (const url of ['/inventory/x', '/orders/x', '/kv/x']) expect((await send(app, 'GET', url)).status).toBe(404);
      expect((await send(app, 'GET', '/accounts/a')).status).toBe(404);
      const ready = await health();
      expect(ready.status).toBe(200);
      expect([ready.body.functions].flat()).toContainEqual(expect.objectContaining({ library: 'accounts', version: expect.any(String) }));
      expect(await admin.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'accounts')).toHaveLength(1);
    } else {
      await waitFor(async () => (await health()).status === 200, 'health to be ready');
    }

    await everyRouteSaysNotFound('a', 'b');
    // and the service works on the empty server
    expect(await send(app, 'POST', '/accounts', { id: 'a', balance: 3 })).toMatchObject({ status: 201, body: { id: 'a', balance: 3 } });
    expect(await send(app, 'POST', '/accounts/a/deposit', { amount: 2 })).toMatchObject({ status: 200, body: { balance: 5 } });
  });

  if (strategy === 'functions') {
    it('after another restart, the next request — a write, no health call — reloads the library itself and works', async () => {
      await shutdownAndRestart();
      const first = await send(app, 'POST', '/accounts/a/deposit', { amount: 1 }, 'after-restart-1');
      expect(first).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND' } }); // not 503: reloaded on the fly
      expect(await admin.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'accounts')).toHaveLength(1);
      expect(await send(app, 'POST', '/accounts', { id: 'a', balance: 10 }, 'after-restart-2')).toMatchObject({ status: 201 });
      expect(await send(app, 'POST', '/transfers', { from: 'a', to: 'b', amount: 1 })).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND', account: 'b' } });
      expect(await send(app, 'GET', '/accounts/a')).toMatchObject({ status: 200, body: { balance: 10 } });
    });
  }
});
