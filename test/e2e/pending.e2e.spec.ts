/**
 * Two-phase transfers over HTTP, on the real app (createApp + loadConfig) with a private redis-server per Redis
 * strategy: POST /transfers {pending, timeoutSeconds}, GET /transfers/:id, POST /transfers/:id/post and /void, the
 * account's pending fields, every refusal's status and code (with the keyspace unchanged), validation, Idempotency-Key
 * replays, and the service's background sweeper (PENDING_SWEEP_MS) releasing an expired reservation by itself.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import type { AtomicStrategy } from '@kernel/core';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

interface Res {
  status: number;
  body: any;
  replayed: boolean;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function buildApp(strategy: AtomicStrategy, server: RedisServer | undefined, sweepMs: string): Promise<NestFastifyApplication> {
  const app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', LEDGER: 'e2e-pending',
    PENDING_SWEEP_MS: sweepMs }), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe.each(['functions', 'transactions', 'memory'] as AtomicStrategy[])('HTTP two-phase transfers, strategy %s', (strategy) => {
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let app: NestFastifyApplication;
  let n = 0;
  const uid = (prefix = 'acct') => `${prefix}-${strategy}-${++n}`;

  async function send(method: 'GET' | 'POST', url: string, payload?: object, key?: string, on = app): Promise<Res> {
    const res = await on.inject({ method, url, payload, headers: key ? { 'idempotency-key': key } : {} });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, replayed: res.headers['idempotent-replayed'] === 'true' };
  }

  async function rejected(method: 'GET' | 'POST', url: string, payload: object | undefined, status: number, code: string): Promise<any> {
    const before = client ? await keyspaceSnapshot(client) : '';
    const res = await send(method, url, payload);
    expect(res).toMatchObject({ status, body: { statusCode: status, code, message: expect.any(String) } });
    if (client) expect(await keyspaceSnapshot(client)).toBe(before);
    return res.body;
  }

  async function accounts(balance = 100): Promise<[string, string]> {
    const [a, b] = [uid(), uid()];
    expect((await send('POST', '/accounts', { id: a, balance })).status).toBe(201);
    expect((await send('POST', '/accounts', { id: b })).status).toBe(201);
    return [a, b];
  }

  const hold = async (from: string, to: string, amount: number, timeoutSeconds = 3600) => {
    const res = await send('POST', '/transfers', { from, to, amount, pending: true, timeoutSeconds });
    expect(res.status).toBe(201);
    return res.body;
  };

  beforeAll(async () => {
    if (strategy !== 'memory') {
      server = await RedisServer.start();
      client = server.client();
    }
    app = await buildApp(strategy, server, '0'); // the sweeper has its own test below: keyspace checks stay exact
  });

  afterAll(async () => {
    await app?.close();
    client?.disconnect();
    await server?.stop();
  });

  it('POST /transfers {pending, timeoutSeconds} → 201; GET /accounts/:id shows the reservation; GET /transfers/:id → 200', async () => {
    const [a, b] = await accounts();
    const receipt = await hold(a, b, 30, 60);
    expect(receipt).toEqual({ id: expect.stringMatching(UUID), from: { id: a, balance: 100 }, to: { id: b, balance: 0 }, amount: 30,
      at: expect.stringMatching(ISO), status: 'pending', expiresAt: expect.stringMatching(ISO) });
    expect((await send('GET', `/accounts/${a}`)).body).toEqual({ id: a, balance: 100, minBalance: 0, pendingDebits: 30, pendingCredits: 0,
      available: 70 });
    expect((await send('GET', `/accounts/${b}`)).body).toEqual({ id: b, balance: 0, minBalance: 0, pendingDebits: 0, pendingCredits: 30,
      available: 0 });
    expect(await send('GET', `/transfers/${receipt.id}`)).toMatchObject({ status: 200,
      body: { id: receipt.id, from: a, to: b, amount: 30, status: 'pending', createdAt: receipt.at, expiresAt: receipt.expiresAt } });
    const history = (await send('GET', `/accounts/${a}/history`)).body.entries;
    expect(history[0]).toMatchObject({ transferId: receipt.id, type: 'pending_out', amount: -30, balance: 100 });
  });

  it('POST /transfers/:id/post {amount} → 200 posted; a second resolution → 409 with its code, nothing written', async () => {
    const [a, b] = await accounts();
    const { id } = await hold(a, b, 30);
    const posted = await send('POST', `/transfers/${id}/post`, { amount: 20 });
    expect(posted).toMatchObject({ status: 200, body: { id, status: 'posted', amount: 30, postedAmount: 20, resolvedAt: expect.stringMatching(ISO) } });
    expect((await send('GET', `/accounts/${a}`)).body).toMatchObject({ balance: 80, pendingDebits: 0, available: 80 });
    expect((await send('GET', `/accounts/${b}`)).body).toMatchObject({ balance: 20, pendingCredits: 0 });
    await rejected('POST', `/transfers/${id}/post`, {}, 409, 'PENDING_TRANSFER_ALREADY_POSTED');
    await rejected('POST', `/transfers/${id}/void`, undefined, 409, 'PENDING_TRANSFER_ALREADY_POSTED');
  });

  it('POST /transfers/:id/void → 200 voided (no body needed); then 409 PENDING_TRANSFER_ALREADY_VOIDED', async () => {
    const [a, b] = await accounts();
    const { id } = await hold(a, b, 30);
    expect(await send('POST', `/transfers/${id}/void`)).toMatchObject({ status: 200, body: { id, status: 'voided', amount: 30 } });
    expect((await send('GET', `/accounts/${a}`)).body).toMatchObject({ balance: 100, pendingDebits: 0, available: 100 });
    await rejected('POST', `/transfers/${id}/void`, undefined, 409, 'PENDING_TRANSFER_ALREADY_VOIDED');
    await rejected('POST', `/transfers/${id}/post`, {}, 409, 'PENDING_TRANSFER_ALREADY_VOIDED');
  });

  it('422 PENDING_TRANSFER_AMOUNT_EXCEEDED, 404 PENDING_TRANSFER_NOT_FOUND, 422 INSUFFICIENT_FUNDS on available', async () => {
    const [a, b] = await accounts();
    const { id } = await hold(a, b, 80);
    expect((await rejected('POST', `/transfers/${id}/post`, { amount: 81 }, 422, 'PENDING_TRANSFER_AMOUNT_EXCEEDED')).pending).toBe(80);
    const missing = uid('t');
    await rejected('POST', `/transfers/${missing}/post`, {}, 404, 'PENDING_TRANSFER_NOT_FOUND');
    await rejected('POST', `/transfers/${missing}/void`, undefined, 404, 'PENDING_TRANSFER_NOT_FOUND');
    await rejected('GET', `/transfers/${missing}`, undefined, 404, 'PENDING_TRANSFER_NOT_FOUND');
    const funds = await rejected('POST', `/accounts/${a}/withdraw`, { amount: 21 }, 422, 'INSUFFICIENT_FUNDS');
    expect(funds).toMatchObject({ balance: 100, available: 20, floor: 0 });
    await rejected('POST', '/transfers', { from: a, to: b, amount: 21, pending: true, timeoutSeconds: 5 }, 422, 'INSUFFICIENT_FUNDS');
  });

  it.each([
    ['pending as a string', { pending: 'true', timeoutSeconds: 5 }],
    ['pending without timeoutSeconds', { pending: true }],
    ['timeoutSeconds 0', { pending: true, timeoutSeconds: 0 }],
    ['timeoutSeconds "5"', { pending: true, timeoutSeconds: '5' }],
    ['timeoutSeconds 2^32', { pending: true, timeoutSeconds: 2 ** 32 }],
    ['timeoutSeconds without pending', { timeoutSeconds: 5 }],
  ])('400 VALIDATION_FAILED for a transfer with %s', async (_, extra) => {
    const [a, b] = await accounts();
    await rejected('POST', '/transfers', { from: a, to: b, amount: 1, ...extra }, 400, 'VALIDATION_FAILED');
    await rejected('POST', '/transfers/batch', { transfers: [{ from: a, to: b, amount: 1, ...extra }] }, 400, 'VALIDATION_FAILED');
  });

  it('400 VALIDATION_FAILED for a post amount of 0, an unknown field, a bad id', async () => {
    const [a, b] = await accounts();
    const { id } = await hold(a, b, 10);
    await rejected('POST', `/transfers/${id}/post`, { amount: 0 }, 400, 'VALIDATION_FAILED');
    await rejected('POST', `/transfers/${id}/post`, { amount: 1, extra: 1 }, 400, 'VALIDATION_FAILED');
    await rejected('POST', `/transfers/${id}/post`, { amount: '5' }, 400, 'VALIDATION_FAILED');
    await rejected('POST', '/transfers/a:b/void', undefined, 400, 'VALIDATION_FAILED');
    await rejected('GET', '/transfers/a:b', undefined, 400, 'VALIDATION_FAILED');
  });

  it('Idempotency-Key on post and void: the first outcome is replayed with Idempotent-Replayed: true', async () => {
    const [a, b] = await accounts();
    const { id } = await hold(a, b, 10);
    const key = `k-${uid()}`;
    const first = await send('POST', `/transfers/${id}/post`, { amount: 4 }, key);
    const again = await send('POST', `/transfers/${id}/post`, { amount: 4 }, key);
    expect(first).toMatchObject({ status: 200, replayed: false });
    expect(again).toEqual({ ...first, replayed: true });
    const other = await send('POST', `/transfers/${id}/void`, undefined, key);
    expect(other).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_MISMATCH' } });
    const voidKey = `v-${uid()}`;
    const refused = await send('POST', `/transfers/${id}/void`, undefined, voidKey);
    expect(refused).toMatchObject({ status: 409, body: { code: 'PENDING_TRANSFER_ALREADY_POSTED' } });
    expect(await send('POST', `/transfers/${id}/void`, undefined, voidKey)).toMatchObject({ status: 409, replayed: true });
  });

  it('POST /transfers/batch may hold pending items (all or nothing)', async () => {
    const [a, b] = await accounts();
    const res = await send('POST', '/transfers/batch', { transfers: [{ from: a, to: b, amount: 30, pending: true, timeoutSeconds: 60 },
      { from: a, to: b, amount: 70 }] });
    expect(res.status).toBe(201);
    expect(res.body.transfers.map((t: { status?: string }) => t.status ?? 'posted')).toEqual(['pending', 'posted']);
    expect((await send('GET', `/accounts/${a}`)).body).toMatchObject({ balance: 30, pendingDebits: 30, available: 0 });
    await rejected('POST', '/transfers/batch', { transfers: [{ from: a, to: b, amount: 1, pending: true, timeoutSeconds: 60 }] },
      422, 'INSUFFICIENT_FUNDS');
  });

  it('the service sweeper (PENDING_SWEEP_MS) releases an expired reservation by itself; it then reads expired', async () => {
    const sweeping = await buildApp(strategy, server, '100');
    try {
      const [a, b] = [uid(), uid()];
      await send('POST', '/accounts', { id: a, balance: 100 }, undefined, sweeping);
      await send('POST', '/accounts', { id: b }, undefined, sweeping);
      const { id } = (await send('POST', '/transfers', { from: a, to: b, amount: 25, pending: true, timeoutSeconds: 1 }, undefined, sweeping)).body;
      // Nobody comes back for it: the sweeper releases it (polled, bounded — not a timing assertion).
      for (let i = 0; i < 200 && (await send('GET', `/accounts/${a}`, undefined, undefined, sweeping)).body.pendingDebits !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect((await send('GET', `/accounts/${a}`, undefined, undefined, sweeping)).body).toMatchObject({ balance: 100, pendingDebits: 0,
        available: 100 });
      expect((await send('GET', `/accounts/${b}`, undefined, undefined, sweeping)).body).toMatchObject({ balance: 0, pendingCredits: 0 });
      expect((await send('GET', `/transfers/${id}`, undefined, undefined, sweeping)).body).toMatchObject({ status: 'expired',
        resolvedAt: expect.stringMatching(ISO) });
      expect(await send('POST', `/transfers/${id}/post`, {}, undefined, sweeping)).toMatchObject({ status: 409,
        body: { code: 'PENDING_TRANSFER_EXPIRED' } });
      const history = (await send('GET', `/accounts/${a}/history`, undefined, undefined, sweeping)).body.entries;
      expect(history[0]).toMatchObject({ transferId: id, type: 'expire_out', amount: 25 });
    } finally {
      await sweeping.close(); // stops the sweeper (onModuleDestroy)
    }
  });
});
