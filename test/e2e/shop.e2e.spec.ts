/**
 * The shop's HTTP API (Inventory + Orders) end to end: the real app (createApp + loadConfig, as main.ts builds
 * it) driven through Fastify's inject, against a PRIVATE redis-server per strategy. Every route and every error
 * code runs on every strategy (CONFLICT only exists where WATCH does: transactions).
 *
 * Every 4xx is also checked for side effects: the whole keyspace (Redis) and the affected resources as the API
 * shows them (every strategy) are identical before and after, and a validation failure must not send Redis a
 * single command (INFO commandstats total calls).
 */
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { assembleLibrary } from '@kernel/redis';
import { createApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const SHOP = 'e2e-shop';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const versionOf = (library: string) => assembleLibrary(library, join(__dirname, '..', '..', 'lua')).version;

interface Req {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  payload?: unknown;
}

interface Res {
  status: number;
  body: any;
}

interface Ctx {
  app: NestFastifyApplication;
  server?: RedisServer;
  client?: Redis;
}

async function send(app: NestFastifyApplication, req: Req): Promise<Res> {
  const res = await app.inject({ method: req.method, url: req.url, payload: req.payload as object | undefined });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

const get = (url: string): Req => ({ method: 'GET', url });
const post = (url: string, payload?: unknown): Req => ({ method: 'POST', url, payload });
const put = (url: string, payload?: unknown): Req => ({ method: 'PUT', url, payload });

async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

const STRATEGIES: AtomicStrategy[] = ['functions', 'transactions', 'memory'];

describe.each(STRATEGIES)('shop HTTP API, strategy %s', (strategy) => {
  const ctx = {} as Ctx;
  const usesRedis = strategy !== 'memory';
  let n = 0;
  /** A fresh id per use, so tests never share products, users or orders. */
  const uid = (prefix: string) => `${prefix}-${++n}`;
  const call = (req: Req) => send(ctx.app, req);

  /** What the API shows of these resources (every strategy), and the raw keyspace (Redis). */
  const observe = async (urls: string[]) => ({
    api: await Promise.all(urls.map((url) => call(get(url)))),
    raw: ctx.client ? await keyspaceSnapshot(ctx.client) : '',
  });

  /**
   * Sends a request that must be rejected with `status`/`code`, and proves it changed nothing (`watch`: GET urls
   * whose answers must not change); with `noCommands`, that Redis was not even asked.
   */
  async function expectRejected(req: Req, status: number, code: string, { watch = [] as string[], noCommands = false } = {}) {
    const before = await observe(watch);
    const callsBefore = ctx.client ? await commandCalls(ctx.client) : 0;
    const res = await call(req);
    const callsAfter = ctx.client ? await commandCalls(ctx.client) : 0;
    expect({ req: `${req.method} ${req.url}`, ...res })
      .toEqual({ req: `${req.method} ${req.url}`, status, body: expect.objectContaining({ statusCode: status, code, message: expect.any(String) }) });
    expect(await observe(watch)).toEqual(before);
    if (ctx.client && noCommands) expect(callsAfter - callsBefore).toBe(1); // only the first INFO
    return res.body;
  }

  const product = async (stock: number, id = uid('p')): Promise<string> => {
    expect(await call(put(`/inventory/${id}`, { stock }))).toEqual({ status: 200, body: { productId: id, stock } });
    return id;
  };
  const place = async (userId: string, items: { productId: string; quantity: number; unitPrice: number }[], id?: string) => {
    const res = await call(post('/orders', id === undefined ? { userId, items } : { id, userId, items }));
    expect(res.status).toBe(201);
    return res.body;
  };
  const drainQueue = async () => {
    while ((await call(post('/orders/claim'))).status === 200);
  };

  beforeAll(async () => {
    if (usesRedis) {
      ctx.server = await RedisServer.start();
      ctx.client = ctx.server.client();
    }
    const config = loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: ctx.server?.url ?? 'redis://127.0.0.1:1', SHOP, RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0' }); // no background sweeps: the tests count the commands Redis receives
    ctx.app = await createApp(config, { logger: false });
    await ctx.app.init();
    await ctx.app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await ctx.app?.close();
    await ctx.server?.stop();
  });

  // Runs first, while the shop holds no other product: the low-stock list is shop-wide.
  it('GET /inventory?below=&limit= → 200 {products}: strictly below, lowest first, ties by id, at most limit', async () => {
    for (const [id, stock] of [['low-b', 3], ['low-a', 3], ['low-c', 0], ['low-d', 9], ['low-e', MAX_SAFE]] as const) await product(stock, id);
    expect(await call(get('/inventory?below=9'))).toEqual({ status: 200, body: { products: [
      { productId: 'low-c', stock: 0 }, { productId: 'low-a', stock: 3 }, { productId: 'low-b', stock: 3 },
    ] } });
    expect(await call(get('/inventory?below=10&limit=2'))).toEqual({ status: 200, body: { products: [
      { productId: 'low-c', stock: 0 }, { productId: 'low-a', stock: 3 },
    ] } });
    expect(await call(get(`/inventory?below=${MAX_SAFE}&limit=1000`))).toMatchObject({ status: 200, body: { products: { length: 4 } } });
    expect(await call(get('/inventory?below=0'))).toEqual({ status: 200, body: { products: [] } });
  });

  it('PUT /inventory/:productId {stock} → 200; GET → 200; POST …/restock {quantity} → 200 {productId, stock}', async () => {
    const p = uid('p');
    expect(await call(put(`/inventory/${p}`, { stock: 5 }))).toEqual({ status: 200, body: { productId: p, stock: 5 } });
    expect(await call(get(`/inventory/${p}`))).toEqual({ status: 200, body: { productId: p, stock: 5 } });
    expect(await call(put(`/inventory/${p}`, { stock: 2 }))).toEqual({ status: 200, body: { productId: p, stock: 2 } });
    expect(await call(post(`/inventory/${p}/restock`, { quantity: 40 }))).toEqual({ status: 200, body: { productId: p, stock: 42 } });
    expect(await call(get(`/inventory/${p}`))).toEqual({ status: 200, body: { productId: p, stock: 42 } });
    if (usesRedis) expect(await ctx.client!.zscore(`ra:{${SHOP}}:inventory:stock`, p)).toBe('42'); // the shop's hash tag
  });

  it('POST /orders → 201 the order; GET /orders/:id, /users/:userId/orders and /users/:userId/stats → 200', async () => {
    const [p1, p2] = [await product(10), await product(10)];
    const [user, id] = [uid('u'), uid('o')];
    const res = await call(post('/orders', { id, userId: user, items: [{ productId: p1, quantity: 2, unitPrice: 1999 }, { productId: p2, quantity: 1, unitPrice: 500 }] }));
    const order = {
      id, userId: user, items: [{ productId: p1, quantity: 2, unitPrice: 1999 }, { productId: p2, quantity: 1, unitPrice: 500 }],
      total: 4498, status: 'pending', createdAt: expect.stringMatching(ISO),
    };
    expect(res).toEqual({ status: 201, body: order });
    expect(await call(get(`/orders/${id}`))).toEqual({ status: 200, body: res.body });
    expect(await call(get(`/users/${user}/orders`))).toEqual({ status: 200, body: { userId: user, orders: [res.body] } });
    expect(await call(get(`/users/${user}/stats`))).toEqual({ status: 200, body: { userId: user, totalOrders: 1, totalSpent: 4498 } });
    expect(await call(get(`/inventory/${p1}`))).toEqual({ status: 200, body: { productId: p1, stock: 8 } });
    if (usesRedis) expect(await ctx.client!.hget(`ra:{${SHOP}}:order:${id}`, 'status')).toBe('pending');

    const generated = await place(user, [{ productId: p1, quantity: 1, unitPrice: 1 }]);
    expect(generated.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await call(get(`/users/${user}/stats`))).toEqual({ status: 200, body: { userId: user, totalOrders: 2, totalSpent: 4499 } });
    const unknown = uid('u');
    expect(await call(get(`/users/${unknown}/orders`))).toEqual({ status: 200, body: { userId: unknown, orders: [] } });
    expect(await call(get(`/users/${unknown}/stats`))).toEqual({ status: 200, body: { userId: unknown, totalOrders: 0, totalSpent: 0 } });
  });

  it('POST /orders/claim → 200 the oldest pending order (processing), then 204 when none; POST /orders/:id/complete → 200', async () => {
    await drainQueue();
    const p = await product(10);
    const user = uid('u');
    const first = await place(user, [{ productId: p, quantity: 1, unitPrice: 10 }]);
    const second = await place(user, [{ productId: p, quantity: 1, unitPrice: 20 }]);
    expect(await call(post('/orders/claim'))).toEqual({ status: 200, body: { ...first, status: 'processing' } });
    expect(await call(post('/orders/claim'))).toEqual({ status: 200, body: { ...second, status: 'processing' } });
    expect(await call(post('/orders/claim'))).toEqual({ status: 204, body: undefined });
    expect(await call(post(`/orders/${first.id}/complete`))).toEqual({ status: 200, body: { ...first, status: 'completed' } });
    expect(await call(get(`/orders/${first.id}`))).toMatchObject({ status: 200, body: { status: 'completed' } });
    if (usesRedis) { // the reliable queue's processing list: the second claim stays there until completed
      const processing = await ctx.client!.lrange(`ra:{${SHOP}}:queue:processing`, 0, -1);
      expect([processing.includes(second.id), processing.includes(first.id)]).toEqual([true, false]);
    }
  });

  it('POST /orders/:id/cancel → 200: cancelled, stock back, stats reduced, never claimed', async () => {
    await drainQueue();
    const p = await product(5);
    const user = uid('u');
    const order = await place(user, [{ productId: p, quantity: 3, unitPrice: 100 }]);
    expect(await call(post(`/orders/${order.id}/cancel`))).toEqual({ status: 200, body: { ...order, status: 'cancelled' } });
    expect(await call(get(`/inventory/${p}`))).toEqual({ status: 200, body: { productId: p, stock: 5 } });
    expect(await call(get(`/users/${user}/stats`))).toEqual({ status: 200, body: { userId: user, totalOrders: 0, totalSpent: 0 } });
    expect(await call(get(`/users/${user}/orders`))).toMatchObject({ status: 200, body: { orders: [{ id: order.id, status: 'cancelled' }] } });
    expect(await call(post('/orders/claim'))).toEqual({ status: 204, body: undefined });
  });

  it('422 OUT_OF_STOCK: a multi-line order whose last line is short changes nothing anywhere', async () => {
    const [p1, p2, p3] = [await product(10), await product(10), await product(2)];
    const user = uid('u');
    await place(user, [{ productId: p1, quantity: 1, unitPrice: 1 }]);
    const id = uid('o');
    const body = await expectRejected(post('/orders', {
      id, userId: user, items: [{ productId: p1, quantity: 5, unitPrice: 1 }, { productId: p2, quantity: 10, unitPrice: 1 }, { productId: p3, quantity: 3, unitPrice: 1 }],
    }), 422, 'OUT_OF_STOCK', { watch: [`/inventory/${p1}`, `/inventory/${p2}`, `/inventory/${p3}`, `/users/${user}/orders`, `/users/${user}/stats`, `/orders/${id}`] });
    expect(body).toMatchObject({ index: 2, productId: p3, requested: 3, available: 2 });
  });

  it('404 PRODUCT_NOT_FOUND (get, restock, an order line) — nothing written', async () => {
    const ghost = uid('ghost');
    const p = await product(3);
    const user = uid('u');
    expect(await expectRejected(get(`/inventory/${ghost}`), 404, 'PRODUCT_NOT_FOUND')).toMatchObject({ productId: ghost });
    await expectRejected(post(`/inventory/${ghost}/restock`, { quantity: 1 }), 404, 'PRODUCT_NOT_FOUND', { watch: [`/inventory/${ghost}`] });
    const body = await expectRejected(post('/orders', { userId: user, items: [{ productId: p, quantity: 1, unitPrice: 1 }, { productId: ghost, quantity: 1, unitPrice: 1 }] }),
      404, 'PRODUCT_NOT_FOUND', { watch: [`/inventory/${p}`, `/users/${user}/orders`, `/users/${user}/stats`] });
    expect(body).toMatchObject({ index: 1, productId: ghost });
  });

  it('404 ORDER_NOT_FOUND (get, cancel, complete)', async () => {
    const ghost = uid('ghost');
    for (const req of [get(`/orders/${ghost}`), post(`/orders/${ghost}/cancel`), post(`/orders/${ghost}/complete`)]) {
      expect(await expectRejected(req, 404, 'ORDER_NOT_FOUND', { watch: [`/orders/${ghost}`] })).toMatchObject({ orderId: ghost });
    }
  });

  it('409 ORDER_EXISTS, ORDER_NOT_CANCELLABLE, INVALID_TRANSITION — the order untouched', async () => {
    await drainQueue();
    const p = await product(10);
    const user = uid('u');
    const order = await place(user, [{ productId: p, quantity: 1, unitPrice: 7 }], uid('o'));
    const watch = [`/orders/${order.id}`, `/inventory/${p}`, `/users/${user}/stats`];
    expect(await expectRejected(post('/orders', { id: order.id, userId: uid('u'), items: [{ productId: p, quantity: 2, unitPrice: 1 }] }),
      409, 'ORDER_EXISTS', { watch })).toMatchObject({ orderId: order.id });
    expect(await expectRejected(post(`/orders/${order.id}/complete`), 409, 'INVALID_TRANSITION', { watch }))
      .toMatchObject({ orderId: order.id, status: 'pending' });
    await call(post('/orders/claim'));
    expect(await expectRejected(post(`/orders/${order.id}/cancel`), 409, 'ORDER_NOT_CANCELLABLE', { watch }))
      .toMatchObject({ orderId: order.id, status: 'processing' });
  });

  it('422 STOCK_LIMIT_EXCEEDED and STATS_LIMIT_EXCEEDED: integers stay below 2^53', async () => {
    const p = await product(MAX_SAFE - 1);
    expect(await expectRejected(post(`/inventory/${p}/restock`, { quantity: 2 }), 422, 'STOCK_LIMIT_EXCEEDED', { watch: [`/inventory/${p}`] }))
      .toMatchObject({ productId: p, stock: MAX_SAFE - 1, quantity: 2 });
    expect(await call(post(`/inventory/${p}/restock`, { quantity: 1 }))).toEqual({ status: 200, body: { productId: p, stock: MAX_SAFE } });
    const user = uid('u');
    await place(user, [{ productId: p, quantity: 1, unitPrice: MAX_SAFE }]);
    expect(await expectRejected(post('/orders', { userId: user, items: [{ productId: p, quantity: 1, unitPrice: 1 }] }), 422, 'STATS_LIMIT_EXCEEDED',
      { watch: [`/inventory/${p}`, `/users/${user}/stats`, `/users/${user}/orders`] })).toMatchObject({ userId: user });
  });

  describe('400 VALIDATION_FAILED: nothing written, no command sent', () => {
    const line = { productId: 'p1', quantity: 1, unitPrice: 1 };
    const cases: [string, Req][] = [
      ['put: stock -1', put('/inventory/p1', { stock: -1 })],
      ['put: stock 1.5', put('/inventory/p1', { stock: 1.5 })],
      ['put: stock "10"', put('/inventory/p1', { stock: '10' })],
      ['put: stock 2**53', put('/inventory/p1', { stock: 2 ** 53 })],
      ['put: no stock', put('/inventory/p1', {})],
      ['put: unknown field', put('/inventory/p1', { stock: 1, colour: 'red' })],
      ['put: path id a:b', put('/inventory/a:b', { stock: 1 })],
      ['put: path id with a hash tag', put('/inventory/a%7Bb%7D', { stock: 1 })],
      ['put: path id of 65 chars', put(`/inventory/${'x'.repeat(65)}`, { stock: 1 })],
      ['restock: quantity 0', post('/inventory/p1/restock', { quantity: 0 })],
      ['restock: quantity -3', post('/inventory/p1/restock', { quantity: -3 })],
      ['restock: quantity null', post('/inventory/p1/restock', { quantity: null })],
      ['get: path id a:b', get('/inventory/a:b')],
      ['low stock: no below', get('/inventory')],
      ['low stock: below -1', get('/inventory?below=-1')],
      ['low stock: below 1e3', get('/inventory?below=1e3')],
      ['low stock: below twice', get('/inventory?below=1&below=2')],
      ['low stock: limit 0', get('/inventory?below=5&limit=0')],
      ['low stock: limit 1001', get('/inventory?below=5&limit=1001')],
      ['place: no userId', post('/orders', { items: [line] })],
      ['place: bad userId', post('/orders', { userId: 'u:1', items: [line] })],
      ['place: bad id', post('/orders', { id: 'o{1}', userId: 'u1', items: [line] })],
      ['place: no items', post('/orders', { userId: 'u1', items: [] })],
      ['place: items not an array', post('/orders', { userId: 'u1', items: line })],
      ['place: 101 lines', post('/orders', { userId: 'u1', items: Array.from({ length: 101 }, (_, i) => ({ ...line, productId: `p${i}` })) })],
      ['place: repeated product', post('/orders', { userId: 'u1', items: [line, line] })],
      ['place: quantity 0', post('/orders', { userId: 'u1', items: [{ ...line, quantity: 0 }] })],
      ['place: unit price -1', post('/orders', { userId: 'u1', items: [{ ...line, unitPrice: -1 }] })],
      ['place: unit price 1.5', post('/orders', { userId: 'u1', items: [{ ...line, unitPrice: 1.5 }] })],
      ['place: unit price "1"', post('/orders', { userId: 'u1', items: [{ ...line, unitPrice: '1' }] })],
      ['place: total past 2^53', post('/orders', { userId: 'u1', items: [{ ...line, quantity: 2, unitPrice: MAX_SAFE - 1 }] })],
      ['place: bad product id', post('/orders', { userId: 'u1', items: [{ ...line, productId: 'p 1' }] })],
      ['place: unknown field', post('/orders', { userId: 'u1', items: [line], coupon: 'X' })],
      ['place: unknown line field', post('/orders', { userId: 'u1', items: [{ ...line, discount: 1 }] })],
      ['place: body is an array', post('/orders', [{ userId: 'u1', items: [line] }])],
      ['get order: path id a:b', get('/orders/a:b')],
      ['cancel: path id a:b', post('/orders/a:b/cancel')],
      ['complete: path id of 65 chars', post(`/orders/${'x'.repeat(65)}/complete`)],
      ['user orders: path id a:b', get('/users/a:b/orders')],
      ['user stats: path id a{b}', get('/users/a%7Bb%7D/stats')],
    ];
    it.each(cases)('%s', async (_, req) => {
      await expectRejected(req, 400, 'VALIDATION_FAILED', { noCommands: true, watch: ['/inventory/p1', '/users/u1/orders'] });
    });
  });

  if (strategy === 'functions') {
    it('GET /health lists every loaded library at its version', async () => {
      const res = await call(get('/health'));
      expect(res).toEqual({ status: 200, body: expect.objectContaining({ status: 'ok', strategy }) });
      expect(res.body.functions).toEqual(expect.arrayContaining(['accounts', 'inventory', 'orders'].map((library) =>
        ({ library, version: versionOf(library), expected: versionOf(library) }))));
    });
  }

  if (strategy === 'transactions') {
    it('409 CONFLICT when WATCH retries run out; the conflicted restocks wrote nothing', async () => {
      // The same app with a WATCH budget of one attempt and no in-process queue: concurrent restocks of one
      // product watch the same sorted set, so all but the first EXEC of each round abort.
      const config = loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: ctx.server!.url, SHOP, RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0' }); // no background sweeps: the tests count the commands Redis receives
      const tight = { ...config, redis: { ...config.redis, watch: { maxAttempts: 1, queueSameKeys: false } } as AppConfig['redis'] };
      const app = await createApp(tight, { logger: false });
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      try {
        const p = await product(0);
        let conflict: Res | undefined;
        let restocked = 0;
        for (let burst = 0; burst < 5 && !conflict; burst++) {
          const results = await Promise.all(Array.from({ length: 24 }, () => send(app, post(`/inventory/${p}/restock`, { quantity: 1 }))));
          for (const res of results) {
            if (res.status === 200) restocked++;
            else conflict = res;
          }
        }
        expect(conflict).toEqual({ status: 409, body: expect.objectContaining({ statusCode: 409, code: 'CONFLICT', message: expect.any(String) }) });
        expect(await call(get(`/inventory/${p}`))).toEqual({ status: 200, body: { productId: p, stock: restocked } });
      } finally {
        await app.close();
      }
    });
  }
});
