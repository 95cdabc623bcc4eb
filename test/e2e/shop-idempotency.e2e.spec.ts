/**
 * Idempotency keys on the shop's HTTP routes (Inventory and Orders), end to end: the real app (createApp +
 * loadConfig, as main.ts builds it) driven through Fastify's inject, on every strategy, against a PRIVATE
 * redis-server. For PUT /inventory/:productId, POST /inventory/:productId/restock, POST /orders,
 * POST /orders/:id/cancel, POST /orders/claim and POST /orders/:id/complete, with an `Idempotency-Key` header:
 * - same key + same request → the first status and body again, `Idempotent-Replayed: true`, no second effect;
 * - same key + another request (or another route, Inventory's and Orders' alike) → 422 IDEMPOTENCY_KEY_MISMATCH,
 *   nothing written;
 * - a business rejection (PRODUCT_NOT_FOUND, OUT_OF_STOCK, ORDER_NOT_FOUND, INVALID_TRANSITION) is stored and
 *   replayed with the header, even once the request would now succeed;
 * - a validation failure (400) is not stored: the key stays free for the corrected request;
 * - ten parallel requests with one key → one effect (the shop looks like a twin shop given the request once);
 * - bad header values → 400 before Redis is asked;
 * - POST /orders without an id: the id is derived from the key, so a retry answers the same order;
 * - POST /orders/claim on an empty queue → 204, never recorded nor marked: the key later claims one order, once;
 * - records live under the shop's hash tag and expire after IDEMPOTENCY_TTL_SECONDS (an app with 1 s).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const SHOP = 'e2e-idem-shop';
const TTL_SHOP = 'e2e-idem-shop-ttl';
const REPLAYED = 'idempotent-replayed';

interface Req {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  payload?: unknown;
}

interface Res {
  status: number;
  body: any;
  replayed: boolean;
  /** The raw header value (undefined when absent). */
  header: string | string[] | undefined;
}

const get = (url: string): Req => ({ method: 'GET', url });
const post = (url: string, payload?: unknown): Req => ({ method: 'POST', url, payload });
const put = (url: string, payload?: unknown): Req => ({ method: 'PUT', url, payload });

async function send(app: NestFastifyApplication, req: Req, key?: string): Promise<Res> {
  const res = await app.inject({
    method: req.method,
    url: req.url,
    payload: req.payload as object | undefined,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
  const header = res.headers[REPLAYED] as string | string[] | undefined;
  return { status: res.statusCode, body: res.body ? res.json() : undefined, replayed: header === 'true', header };
}

/** Sum of `calls=` over INFO commandstats (the INFO itself is counted once it has run). */
async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * One test's corner of the shop: products p (stock 10) and q (stock 1), user u, an order `processing` (claimed)
 * and an order `pending` (the only one in the queue: the queue is drained first), an order id `ghost` nobody used.
 */
interface Shop {
  p: string;
  q: string;
  u: string;
  pending: string;
  processing: string;
  ghost: string;
}

const item = (productId: string, quantity: number, unitPrice = 100) => ({ productId, quantity, unitPrice });

/** A write route of the shop, described on a Shop. */
interface Route {
  name: string;
  req: (s: Shop) => Req;
  status: number;
  /** The same route (or, for claim, which takes no input, another one) with other arguments: a mismatch. */
  other: (s: Shop) => Req;
  /** Run after the first request, so a second effect of a retry would show (setStock overwrites: 7 again). */
  between?: (s: Shop) => Req;
  /** Valid JSON for the DTO, refused by the port's rules after the header was read: 400, not stored. */
  invalid?: (s: Shop) => Req;
  /** A request of this route the shop rejects (stored and replayed), and what makes it pass afterwards. */
  rejected?: { req: (s: Shop) => Req; status: number; code: string; fix: (s: Shop) => Req };
}

const ROUTES: Route[] = [
  {
    name: 'PUT /inventory/:productId',
    req: (s) => put(`/inventory/${s.p}`, { stock: 7 }),
    status: 200,
    other: (s) => put(`/inventory/${s.p}`, { stock: 8 }),
    between: (s) => put(`/inventory/${s.p}`, { stock: 9 }),
    invalid: (s) => put(`/inventory/${s.p}:x`, { stock: 7 }),
  },
  {
    name: 'POST /inventory/:productId/restock',
    req: (s) => post(`/inventory/${s.p}/restock`, { quantity: 3 }),
    status: 200,
    other: (s) => post(`/inventory/${s.p}/restock`, { quantity: 4 }),
    invalid: (s) => post(`/inventory/${s.p}*/restock`, { quantity: 3 }),
    rejected: { req: (s) => post(`/inventory/${s.ghost}/restock`, { quantity: 1 }), status: 404, code: 'PRODUCT_NOT_FOUND',
      fix: (s) => put(`/inventory/${s.ghost}`, { stock: 1 }) },
  },
  {
    name: 'POST /orders',
    req: (s) => post('/orders', { userId: s.u, items: [item(s.p, 2)] }),
    status: 201,
    other: (s) => post('/orders', { userId: s.u, items: [item(s.p, 3)] }),
    invalid: (s) => post('/orders', { userId: s.u, items: [item(s.p, 1), item(s.p, 1)] }), // a repeated product
    rejected: { req: (s) => post('/orders', { userId: s.u, items: [item(s.q, 5)] }), status: 422, code: 'OUT_OF_STOCK',
      fix: (s) => post(`/inventory/${s.q}/restock`, { quantity: 10 }) },
  },
  {
    name: 'POST /orders/:id/cancel',
    req: (s) => post(`/orders/${s.pending}/cancel`),
    status: 200,
    other: (s) => post(`/orders/${s.processing}/cancel`),
    invalid: (s) => post(`/orders/${s.pending}:x/cancel`),
    rejected: { req: (s) => post(`/orders/${s.ghost}/cancel`), status: 404, code: 'ORDER_NOT_FOUND',
      fix: (s) => post('/orders', { id: s.ghost, userId: s.u, items: [item(s.p, 1)] }) },
  },
  {
    name: 'POST /orders/claim',
    req: () => post('/orders/claim'),
    status: 200,
    other: (s) => post(`/orders/${s.pending}/cancel`),
  },
  {
    name: 'POST /orders/:id/complete',
    req: (s) => post(`/orders/${s.processing}/complete`),
    status: 200,
    other: (s) => post(`/orders/${s.pending}/complete`),
    invalid: (s) => post(`/orders/${s.processing}{x}/complete`),
    rejected: { req: (s) => post(`/orders/${s.pending}/complete`), status: 409, code: 'INVALID_TRANSITION',
      fix: () => post('/orders/claim') },
  },
];

const STRATEGIES: AtomicStrategy[] = ['functions', 'transactions', 'memory'];

describe.each(STRATEGIES)('Idempotency-Key on the shop routes, strategy %s', (strategy) => {
  const usesRedis = strategy !== 'memory';
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let app: NestFastifyApplication;
  let short: NestFastifyApplication;
  let n = 0;
  const uid = (prefix: string) => `${prefix}-${strategy}-${++n}`;
  const key = () => `key-${strategy}-${++n} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`; // any printable ASCII is a key
  const call = (req: Req, k?: string) => send(app, req, k);

  async function build(env: Record<string, string>): Promise<NestFastifyApplication> {
    const instance = await createApp(loadConfig({
      ATOMIC_STRATEGY: strategy,
      REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', // memory must not need it
      RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0', // no background sweeps: the tests count the commands Redis receives
      ...env,
    }), { logger: false });
    await instance.init();
    await instance.getHttpAdapter().getInstance().ready();
    return instance;
  }

  async function drainQueue(): Promise<void> {
    while ((await call(post('/orders/claim'))).status === 200);
  }

  async function expectOk(req: Req, status = 200): Promise<any> {
    const res = await call(req);
    expect({ req: `${req.method} ${req.url}`, status: res.status }).toEqual({ req: `${req.method} ${req.url}`, status });
    return res.body;
  }

  /** A fresh corner of the shop (see Shop); drains the shop-wide queue first. */
  async function shop(): Promise<Shop> {
    await drainQueue();
    const s = { p: uid('p'), q: uid('q'), u: uid('u'), pending: uid('o'), processing: uid('o'), ghost: uid('ghost') };
    await expectOk(put(`/inventory/${s.p}`, { stock: 10 }));
    await expectOk(put(`/inventory/${s.q}`, { stock: 1 }));
    await expectOk(post('/orders', { id: s.processing, userId: s.u, items: [item(s.p, 1)] }), 201);
    expect(await expectOk(post('/orders/claim'))).toMatchObject({ id: s.processing });
    await expectOk(post('/orders', { id: s.pending, userId: s.u, items: [item(s.p, 1), item(s.q, 1)] }), 201);
    return s;
  }

  /** Everything the API shows about the shop corner, and the Redis keyspace. */
  async function state(s: Shop): Promise<unknown> {
    const urls = [`/inventory/${s.p}`, `/inventory/${s.q}`, `/inventory/${s.ghost}`, `/users/${s.u}/orders`, `/users/${s.u}/stats`,
      `/orders/${s.pending}`, `/orders/${s.processing}`, `/orders/${s.ghost}`];
    const api = await Promise.all(urls.map(async (url) => {
      const res = await call(get(url));
      return [res.status, res.body];
    }));
    return { api, keyspace: client ? await keyspaceSnapshot(client) : null };
  }

  /** The corner as the API shows it with its ids replaced by their roles, to compare two corners. */
  async function view(s: Shop): Promise<unknown> {
    const roles = new Map(Object.entries(s).map(([role, id]) => [id, role]));
    const anonymous = (value: unknown) => JSON.parse(JSON.stringify(value, (k, v) =>
      k === 'createdAt' ? undefined : typeof v === 'string' && roles.has(v) ? roles.get(v) : k === 'id' ? 'new' : v));
    const { orders } = anonymous((await call(get(`/users/${s.u}/orders`))).body) as { orders: unknown[] };
    return {
      stock: anonymous([(await call(get(`/inventory/${s.p}`))).body, (await call(get(`/inventory/${s.q}`))).body]),
      orders: orders.map((o) => JSON.stringify(o)).sort(), // orders placed in the same millisecond list by id
      stats: anonymous((await call(get(`/users/${s.u}/stats`))).body),
    };
  }

  beforeAll(async () => {
    if (usesRedis) {
      server = await RedisServer.start();
      client = server.client();
    }
    app = await build({ SHOP });
    short = await build({ SHOP: TTL_SHOP, IDEMPOTENCY_TTL_SECONDS: '1' });
  });

  afterAll(async () => {
    await app?.close();
    await short?.close();
    await server?.stop();
  });

  describe.each(ROUTES)('$name', (route) => {
    it('same key + same request → same status and body, Idempotent-Replayed: true, no second effect', async () => {
      const s = await shop();
      const k = key();
      const first = await call(route.req(s), k);
      expect(first.status).toBe(route.status);
      expect(first.header).toBeUndefined();
      if (route.between) await expectOk(route.between(s));
      const after = await state(s);
      for (let retry = 0; retry < 3; retry++) {
        const again = await call(route.req(s), k);
        expect({ status: again.status, body: again.body, header: again.header })
          .toEqual({ status: first.status, body: first.body, header: 'true' });
      }
      expect(await state(s)).toEqual(after);
    });

    it('same key + different request (same route or another module\'s) → 422 IDEMPOTENCY_KEY_MISMATCH, nothing written', async () => {
      const s = await shop();
      const k = key();
      const first = await call(route.req(s), k);
      expect(first.status).toBe(route.status);
      const after = await state(s);
      for (const other of [route.other(s), route.name.startsWith('PUT /inventory')
        ? post('/orders', { userId: s.u, items: [item(s.p, 1)] })
        : put(`/inventory/${s.p}`, { stock: 1 })]) {
        const mismatch = await call(other, k);
        expect({ req: other.url, ...mismatch }).toMatchObject({
          req: other.url, status: 422, replayed: false, body: { statusCode: 422, code: 'IDEMPOTENCY_KEY_MISMATCH', message: expect.any(String) },
        });
      }
      expect(await state(s)).toEqual(after);
      expect(await call(route.req(s), k)).toMatchObject({ status: route.status, replayed: true, body: first.body });
    });

    if (route.rejected) {
      const rejected = route.rejected;
      it(`business rejection (${rejected.status} ${rejected.code}) is stored and replayed with the header, even once it would succeed`, async () => {
        const s = await shop();
        const k = key();
        const before = await state(s);
        const first = await call(rejected.req(s), k);
        expect(first).toMatchObject({ status: rejected.status, replayed: false, body: { code: rejected.code } });
        expect(first.header).toBeUndefined();
        expect((await state(s) as { api: unknown }).api).toEqual((before as { api: unknown }).api);
        expect((await call(rejected.fix(s))).status).toBeLessThan(300); // now the request would pass…
        const afterFix = await state(s);
        const replayed = await call(rejected.req(s), k); // …but the key keeps its first outcome
        expect({ status: replayed.status, body: replayed.body, header: replayed.header })
          .toEqual({ status: first.status, body: first.body, header: 'true' });
        expect(await state(s)).toEqual(afterFix);
      });
    }

    if (route.invalid) {
      const invalid = route.invalid;
      it('validation failure (400, refused by the port after the header was read) is not stored', async () => {
        const s = await shop();
        const k = key();
        const before = await state(s);
        expect(await call(invalid(s), k)).toMatchObject({ status: 400, replayed: false, body: { code: 'VALIDATION_FAILED' } });
        expect(await state(s)).toEqual(before);
        const corrected = await call(route.req(s), k);
        expect(corrected).toMatchObject({ status: route.status, replayed: false });
        expect(await call(route.req(s), k)).toMatchObject({ status: route.status, replayed: true, body: corrected.body });
      });
    }

    it('ten parallel requests with one key → exactly one effect; every answer is the replayed result (or 409 IN_PROGRESS)', async () => {
      const s = await shop();
      const k = key();
      const answers = await Promise.all(Array.from({ length: 10 }, () => call(route.req(s), k)));
      const ok = answers.filter((r) => r.status === route.status);
      const inProgress = answers.filter((r) => r.status === 409 && r.body?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS');
      expect(ok.length + inProgress.length).toBe(10);
      expect(ok.filter((r) => !r.replayed)).toHaveLength(1);
      for (const r of ok) expect(r.body).toEqual(ok[0].body);
      const once = await view(s);
      // A twin corner given the request once (set up afterwards: the queue is shop-wide) looks exactly the same…
      const twin = await shop();
      expect((await call(route.req(twin), key())).status).toBe(route.status);
      expect(once).toEqual(await view(twin));
      expect(once).not.toEqual(await view(await shop())); // …and one without it does not: the comparison can fail
    });
  });

  it('POST /orders without an id: the id is derived from the key, so every retry answers the same order', async () => {
    const s = await shop();
    const [k1, k2] = [key(), key()];
    const first = await call(post('/orders', { userId: s.u, items: [item(s.p, 1)] }), k1);
    expect(first).toMatchObject({ status: 201, replayed: false, body: { id: expect.stringMatching(/^[0-9a-f]{32}$/), status: 'pending' } });
    expect(await call(post('/orders', { userId: s.u, items: [item(s.p, 1)] }), k1))
      .toMatchObject({ status: 201, replayed: true, body: first.body });
    const other = await call(post('/orders', { userId: s.u, items: [item(s.p, 1)] }), k2);
    expect(other.body.id).not.toBe(first.body.id);
    expect((await call(get(`/inventory/${s.p}`))).body.stock).toBe(10 - 2 - 2);
  });

  it('POST /orders/claim on an empty queue → 204, not recorded: the key later claims one order, then replays it', async () => {
    await drainQueue();
    const k = key();
    const before = client ? await keyspaceSnapshot(client) : null;
    const empty = await call(post('/orders/claim'), k);
    expect(empty).toMatchObject({ status: 204, body: undefined, replayed: false });
    expect(empty.header).toBeUndefined();
    if (client) expect(await keyspaceSnapshot(client)).toEqual(before); // no record
    const s = await shop(); // one order pending
    const claimed = await call(post('/orders/claim'), k);
    expect(claimed).toMatchObject({ status: 200, replayed: false, body: { id: s.pending, status: 'processing' } });
    await expect(call(post('/orders/claim'))).resolves.toMatchObject({ status: 204 });
    expect(await call(post('/orders/claim'), k)).toMatchObject({ status: 200, replayed: true, body: claimed.body });
  });

  describe('bad Idempotency-Key values → 400 before the store is asked', () => {
    it.each<[string, string]>([
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['non-ASCII', 'café'],
      ['a tab', 'tab\there'],
      ['DEL (0x7F)', 'del\x7f'],
    ])('%s', async (_name, bad) => {
      const s = await shop();
      const before = await state(s);
      for (const route of ROUTES) {
        const callsBefore = client ? await commandCalls(client) : 0;
        const res = await call(route.req(s), bad);
        const callsAfter = client ? await commandCalls(client) : 0;
        expect({ route: route.name, status: res.status, code: res.body?.code, field: res.body?.field })
          .toEqual({ route: route.name, status: 400, code: 'VALIDATION_FAILED', field: 'idempotencyKey' });
        expect(res.header).toBeUndefined();
        if (client) expect(callsAfter - callsBefore).toBe(1); // only the first INFO ran in between
      }
      expect(await state(s)).toEqual(before);
    });
  });

  if (usesRedis) {
    it(`records live under the shop's hash tag (ra:{${SHOP}}:shop-idem:<hex>) with a TTL of IDEMPOTENCY_TTL_SECONDS (default 86400)`, async () => {
      const s = await shop();
      const records = () => client!.keys(`ra:{${SHOP}}:shop-idem:*`);
      const before = await records();
      expect((await call(post(`/inventory/${s.p}/restock`, { quantity: 1 }), key())).status).toBe(200);
      const added = (await records()).filter((k) => !before.includes(k));
      expect(added).toEqual([expect.stringMatching(new RegExp(`^ra:\\{${SHOP}\\}:shop-idem:[0-9a-f]{40}$`))]);
      const seconds = await client!.ttl(added[0]);
      expect(seconds).toBeGreaterThan(86_400 - 5);
      expect(seconds).toBeLessThanOrEqual(86_400);
    });
  }

  it('IDEMPOTENCY_TTL_SECONDS=1: replayed within the TTL; after it a restock applies again and a place is refused (ORDER_EXISTS)', async () => {
    const on = (req: Req, k?: string) => send(short, req, k);
    const [p, u, kRestock, kPlace] = [uid('p'), uid('u'), key(), key()];
    expect((await on(put(`/inventory/${p}`, { stock: 5 }))).status).toBe(200);
    expect(await on(post(`/inventory/${p}/restock`, { quantity: 1 }), kRestock)).toMatchObject({ status: 200, body: { stock: 6 } });
    const placed = await on(post('/orders', { userId: u, items: [item(p, 1)] }), kPlace);
    expect(placed.status).toBe(201);
    expect(await on(post(`/inventory/${p}/restock`, { quantity: 1 }), kRestock)).toMatchObject({ status: 200, replayed: true, body: { stock: 6 } });
    if (client) {
      const records = await client.keys(`ra:{${TTL_SHOP}}:shop-idem:*`);
      expect(records.length).toBeGreaterThanOrEqual(2);
      for (const record of records) expect(await client.pttl(record)).toBeLessThanOrEqual(1000);
    }
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(await on(post(`/inventory/${p}/restock`, { quantity: 1 }), kRestock)).toMatchObject({ status: 200, replayed: false, body: { stock: 6 } });
    expect(await on(post('/orders', { userId: u, items: [item(p, 1)] }), kPlace))
      .toMatchObject({ status: 409, replayed: false, body: { code: 'ORDER_EXISTS', orderId: placed.body.id } });
    expect((await on(get(`/users/${u}/orders`))).body.orders).toEqual([placed.body]);
  });
});
