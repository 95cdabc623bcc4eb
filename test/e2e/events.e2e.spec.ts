/**
 * GET /events end to end on every strategy: the real app (createApp + loadConfig), paging the ledger's event log
 * with `after` (exclusive) and `limit`, `next` null on the last page, and 400 for a bad stream, cursor or limit.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisServer } from '@kernel/testing';
import { ATOMIC_STRATEGIES } from '@kernel/core';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

describe.each(ATOMIC_STRATEGIES)('GET /events, strategy %s', (strategy) => {
  let server: RedisServer | undefined;
  let app: NestFastifyApplication;

  const send = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await app.inject({ method, url, payload });
    return { status: res.statusCode, body: res.body ? res.json() : undefined };
  };

  beforeAll(async () => {
    if (strategy !== 'memory') server = await RedisServer.start();
    app = await createApp(loadConfig({
      ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', LEDGER: 'events-e2e', SHOP: 'events-shop', EVENTS_MAXLEN: '1000',
    }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('pages through the ledger events in commit order; failures append nothing', async () => {
    expect(await send('GET', '/events?stream=ledger')).toEqual({ status: 200, body: { events: [], next: null } });
    expect((await send('POST', '/accounts', { id: 'a', balance: 10 })).status).toBe(201);
    expect((await send('POST', '/accounts', { id: 'b' })).status).toBe(201);
    expect((await send('POST', '/accounts/a/withdraw', { amount: 11 })).status).toBe(422); // INSUFFICIENT_FUNDS: appends nothing
    expect((await send('POST', '/transfers', { from: 'a', to: 'b', amount: 4 })).status).toBe(201);
    expect((await send('POST', '/accounts/b/deposit', { amount: 3 })).status).toBe(200);

    const first = await send('GET', '/events?stream=ledger&limit=2');
    expect(first.status).toBe(200);
    expect(first.body.events).toEqual([
      { id: expect.stringMatching(/^\d+-\d+$/), type: 'account.opened', at: expect.any(String), data: { account: 'a', balance: 10, floor: 0 } },
      { id: expect.any(String), type: 'account.opened', at: expect.any(String), data: { account: 'b', balance: 0, floor: 0 } },
    ]);
    expect(first.body.next).toBe(first.body.events[1].id);
    const second = await send('GET', `/events?stream=ledger&limit=2&after=${first.body.next}`);
    expect(second.body.events.map((e: { type: string }) => e.type)).toEqual(['transfer.completed', 'account.deposited']);
    expect(second.body.events[0].data).toEqual(expect.objectContaining({ from: 'a', to: 'b', amount: 4, fromBalance: 6, toBalance: 4 }));
    expect(second.body.events[1].data).toEqual(expect.objectContaining({ account: 'b', amount: 3, balance: 7 }));
    expect(second.body.next).toBeNull(); // this page ends the stream
    const last = await send('GET', `/events?stream=ledger&limit=2&after=${second.body.events[1].id}`);
    expect(last).toEqual({ status: 200, body: { events: [], next: null } });
    const all = await send('GET', '/events?stream=ledger');
    expect(all.body).toEqual({ events: [...first.body.events, ...second.body.events], next: null });
  });

  it('GET /events?stream=kv reads the kv namespace\'s log: one kv.transaction per applied transaction', async () => {
    expect((await send('POST', '/kv/transactions', { updates: [{ op: 'incrby', key: 'c', by: 2 }] })).status).toBe(200);
    expect((await send('POST', '/kv/transactions', { conditions: [{ key: 'c', op: 'eq', value: '0' }],
      updates: [{ op: 'set', key: 'c', value: 'x' }] })).status).toBe(409);
    const page = await send('GET', '/events?stream=kv');
    expect(page).toEqual({ status: 200, body: { next: null, events: [
      { id: expect.any(String), type: 'kv.transaction', at: expect.any(String), data: { updates: [{ key: 'c', op: 'incrby', by: 2 }] } },
    ] } });
  });

  it('GET /events?stream=shop reads the shop\'s log: stock and order events in commit order', async () => {
    expect((await app.inject({ method: 'PUT', url: '/inventory/w1', payload: { stock: 4 } })).statusCode).toBe(200);
    expect((await send('POST', '/orders', { id: 'o1', userId: 'u1', items: [{ productId: 'w1', quantity: 3, unitPrice: 5 }] })).status)
      .toBe(201);
    const page = await send('GET', '/events?stream=shop');
    expect(page.status).toBe(200);
    expect(page.body.events.map(({ type, data }: { type: string; data: unknown }) => ({ type, data }))).toEqual([
      { type: 'stock.set', data: { productId: 'w1', stock: 4 } },
      { type: 'order.placed', data: { orderId: 'o1', userId: 'u1', total: 15, items: [{ productId: 'w1', quantity: 3, stock: 1 }] } },
    ]);
  });

  it.each([
    '/events', '/events?stream=nope', '/events?stream=constructor', '/events?stream=ledger&after=abc',
    '/events?stream=ledger&after=(1-0', '/events?stream=ledger&limit=0', '/events?stream=ledger&limit=1001',
    '/events?stream=ledger&limit=x',
  ])('GET %s → 400 VALIDATION_FAILED', async (url) => {
    expect(await send('GET', url)).toEqual({ status: 400, body: expect.objectContaining({ code: 'VALIDATION_FAILED' }) });
  });
});
