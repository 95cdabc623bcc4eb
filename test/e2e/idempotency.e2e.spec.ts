/**
 * Issue 4, "Idempotency keys", end to end: the real app (createApp + loadConfig, as main.ts builds it) driven
 * through Fastify's inject, on every strategy, against a PRIVATE redis-server (never the one on 6379).
 *
 * For every mutating Accounts route, with an `Idempotency-Key` header:
 * - same key + same request → the first status and body again, `Idempotent-Replayed: true`, no second effect;
 * - same key + another request (or another route) → 422 IDEMPOTENCY_KEY_MISMATCH, nothing written;
 * - a business rejection is stored and replayed (with the header), even once the request would now succeed;
 * - a validation failure (400) is not stored: the key stays free for the corrected request;
 * - bad header values (empty, 256 chars, non-ASCII, control characters) → 400 before Redis is asked;
 * - ten parallel requests with one key → one effect; every other answer replays it (or is 409 IN_PROGRESS);
 * - records expire after IDEMPOTENCY_TTL_SECONDS (a second app instance with a TTL of 1 s).
 *
 * "No second effect" is checked through the API (balances and full histories of every account involved) and,
 * on the Redis strategies, on the whole keyspace (keyspaceSnapshot before/after).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import type { AtomicStrategy } from '@kernel/core';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const LEDGER = 'idem';
const TTL_LEDGER = 'idemttl';
const REPLAYED = 'idempotent-replayed';

interface Req {
  method: 'GET' | 'POST';
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

const post = (url: string, payload?: unknown): Req => ({ method: 'POST', url, payload });
const get = (url: string): Req => ({ method: 'GET', url });

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

/** Every idempotency record of a ledger (SCAN: the tests' ledgers are tiny). */
async function recordKeys(client: Redis, ledger: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `ra:{${ledger}}:idem:*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys.sort();
}

/** A write route: its request on fresh accounts `a` (100), `b` (0) and the unopened id `c`. */
interface Route {
  name: string;
  /** The request under test. */
  req: (a: string, b: string, c: string) => Req;
  /** The same route with other arguments: must be refused as a mismatch. */
  other: (a: string, b: string, c: string) => Req;
  /** Valid JSON for the DTO, but refused by the port's rules (after the header was read): 400, not stored. */
  invalid: (a: string, b: string, c: string) => Req;
  /** A request of this route that the ledger rejects (a business failure, stored and replayed). */
  rejected: (a: string, b: string, c: string) => Req;
  rejection: { status: number; code: string };
  /** What makes `rejected` succeed afterwards (it must still be replayed as the rejection). */
  fix: (a: string, b: string, c: string) => Req;
  created: number;
}

const ROUTES: Route[] = [
  {
    name: 'POST /accounts',
    req: (_a, _b, c) => post('/accounts', { id: c, balance: 5 }),
    other: (_a, _b, c) => post('/accounts', { id: c, balance: 6 }),
    invalid: (_a, _b, c) => post('/accounts', { id: c, balance: 5, minBalance: 10 }),
    // ACCOUNT_EXISTS is the business rejection of open; "fixed" cannot happen, but it is replayed all the same
    rejected: (a) => post('/accounts', { id: a, balance: 1 }),
    rejection: { status: 409, code: 'ACCOUNT_EXISTS' },
    fix: (a) => get(`/accounts/${a}`),
    created: 201,
  },
  {
    name: 'POST /accounts/:id/deposit',
    req: (a) => post(`/accounts/${a}/deposit`, { amount: 7 }),
    other: (a) => post(`/accounts/${a}/deposit`, { amount: 8 }),
    invalid: (a) => post(`/accounts/${a}:x/deposit`, { amount: 7 }),
    rejected: (_a, _b, c) => post(`/accounts/${c}/deposit`, { amount: 7 }),
    rejection: { status: 404, code: 'ACCOUNT_NOT_FOUND' },
    fix: (_a, _b, c) => post('/accounts', { id: c }),
    created: 200,
  },
  {
    name: 'POST /accounts/:id/withdraw',
    req: (a) => post(`/accounts/${a}/withdraw`, { amount: 7 }),
    other: (a) => post(`/accounts/${a}/withdraw`, { amount: 6 }),
    invalid: (a) => post(`/accounts/${a}*/withdraw`, { amount: 7 }),
    rejected: (a) => post(`/accounts/${a}/withdraw`, { amount: 150 }),
    rejection: { status: 422, code: 'INSUFFICIENT_FUNDS' },
    fix: (a) => post(`/accounts/${a}/deposit`, { amount: 100 }),
    created: 200,
  },
  {
    name: 'POST /transfers',
    req: (a, b) => post('/transfers', { from: a, to: b, amount: 9 }),
    other: (a, b) => post('/transfers', { from: a, to: b, amount: 9, minBalance: 0 }),
    invalid: (a) => post('/transfers', { from: a, to: a, amount: 9 }),
    rejected: (a, b) => post('/transfers', { from: a, to: b, amount: 150 }),
    rejection: { status: 422, code: 'INSUFFICIENT_FUNDS' },
    fix: (a) => post(`/accounts/${a}/deposit`, { amount: 100 }),
    created: 201,
  },
  {
    name: 'POST /transfers/batch',
    req: (a, b) => post('/transfers/batch', { transfers: [{ from: a, to: b, amount: 9 }, { from: b, to: a, amount: 4 }] }),
    other: (a, b) => post('/transfers/batch', { transfers: [{ from: b, to: a, amount: 4 }, { from: a, to: b, amount: 9 }] }),
    invalid: (a, b) => post('/transfers/batch', { transfers: [{ from: a, to: b, amount: 9 }, { from: b, to: b, amount: 4 }] }),
    rejected: (a, b) => post('/transfers/batch', { transfers: [{ from: a, to: b, amount: 60 }, { from: a, to: b, amount: 60 }] }),
    rejection: { status: 422, code: 'INSUFFICIENT_FUNDS' },
    fix: (a) => post(`/accounts/${a}/deposit`, { amount: 100 }),
    created: 201,
  },
];

const STRATEGIES: AtomicStrategy[] = ['functions', 'transactions', 'memory'];

describe.each(STRATEGIES)('Idempotency-Key over HTTP, strategy %s', (strategy) => {
  const usesRedis = strategy !== 'memory';
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let app: NestFastifyApplication;
  let n = 0;
  const uid = (prefix = 'acct') => `${prefix}-${++n}`;
  const key = () => `key-${strategy}-${++n} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`; // any printable ASCII is a key

  async function build(env: Record<string, string>, db = 0): Promise<NestFastifyApplication> {
    const instance = await createApp(loadConfig({
      ATOMIC_STRATEGY: strategy,
      REDIS_URL: server ? `${server.url}/${db}` : 'redis://127.0.0.1:1', // memory must not need it
      RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0', // no background sweeps: the tests count the commands Redis receives
      ...env,
    }), { logger: false });
    await instance.init();
    await instance.getHttpAdapter().getInstance().ready();
    return instance;
  }

  /** Fresh accounts a (100) and b (0), and an id c nobody opened. */
  async function accounts(on = app): Promise<[string, string, string]> {
    const [a, b, c] = [uid(), uid(), uid()];
    expect((await send(on, post('/accounts', { id: a, balance: 100 }))).status).toBe(201);
    expect((await send(on, post('/accounts', { id: b, balance: 0 }))).status).toBe(201);
    return [a, b, c];
  }

  /** Everything the API shows about the accounts (balances and every history entry), and the Redis keyspace. */
  async function state(ids: string[], on = app): Promise<unknown> {
    const api = await Promise.all(ids.map(async (id) => [
      (await send(on, get(`/accounts/${id}`))).body,
      (await send(on, get(`/accounts/${id}/history?limit=1000`))).body,
    ]));
    return { api, keyspace: client ? await keyspaceSnapshot(client) : null };
  }

  /**
   * The accounts as the API shows them, with ids replaced by their role (0, 1, 2): status, balance, floor,
   * and every history entry (type, amount, counterparty role, balance after).
   */
  async function view(ids: string[]): Promise<unknown> {
    const role = (id: string | null) => (id === null ? null : ids.indexOf(id));
    return Promise.all(ids.map(async (id) => {
      const account = await send(app, get(`/accounts/${id}`));
      const history = await send(app, get(`/accounts/${id}/history?limit=1000`));
      return {
        status: account.status,
        balance: account.body.balance,
        minBalance: account.body.minBalance,
        entries: (history.body.entries ?? []).map((e: { type: string; amount: number; counterparty: string | null; balance: number }) =>
          [e.type, e.amount, role(e.counterparty), e.balance]),
      };
    }));
  }

  beforeAll(async () => {
    if (usesRedis) {
      server = await RedisServer.start();
      client = server.client(); // db 0: the main app's
      ttlClient = server.client({ db: 1 }); // db 1: the short-TTL app's
    }
    app = await build({ LEDGER });
    short = await build({ LEDGER: TTL_LEDGER, IDEMPOTENCY_TTL_SECONDS: '1' }, 1);
  });

  beforeEach(async () => {
    await client?.flushdb(); // small keyspace snapshots; the short-TTL app lives in db 1, untouched
  });

  afterAll(async () => {
    await app?.close();
    await short?.close();
    await server?.stop();
  });

  // ───── expiry, part 1 (part 2 runs last, so the TTL of 1 s elapses while the other tests run) ─────

  /** A second app instance with IDEMPOTENCY_TTL_SECONDS=1 (own ledger, own db), and what part 1 wrote there. */
  let short: NestFastifyApplication;
  let ttlClient: Redis | undefined;
  const ttl = { a: '', b: '', keys: ['', '', ''], writtenAt: 0 };
  const ttlRequests = () => ({
    deposit: post(`/accounts/${ttl.a}/deposit`, { amount: 7 }),
    transfer: post('/transfers', { from: ttl.a, to: ttl.b, amount: 9 }),
    overdraw: post(`/accounts/${ttl.b}/withdraw`, { amount: 1000 }),
  });

  it('IDEMPOTENCY_TTL_SECONDS=1 (part 1): records are replayed within the TTL; Redis records carry a TTL <= 1 s', async () => {
    [ttl.a, ttl.b] = await accounts(short);
    ttl.keys = [key(), key(), key()];
    const [kSame, kOther, kRejected] = ttl.keys;
    const { deposit, transfer, overdraw } = ttlRequests();
    ttl.writtenAt = Date.now();
    expect(await send(short, deposit, kSame)).toMatchObject({ status: 200, body: { balance: 107 } });
    expect(await send(short, transfer, kOther)).toMatchObject({ status: 201, body: { from: { balance: 98 } } });
    expect(await send(short, overdraw, kRejected)).toMatchObject({ status: 422, body: { code: 'INSUFFICIENT_FUNDS' } });
    // still inside the TTL: replayed
    expect(await send(short, deposit, kSame)).toMatchObject({ status: 200, replayed: true, body: { balance: 107 } });
    expect(await send(short, overdraw, kRejected)).toMatchObject({ status: 422, replayed: true });
    if (ttlClient) {
      const records = await recordKeys(ttlClient, TTL_LEDGER);
      expect(records).toHaveLength(3);
      for (const record of records) {
        const pttl = await ttlClient.pttl(record);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(1000);
      }
    }
  });

  describe.each(ROUTES)('$name', (route) => {
    it('same key + same request → same status and body, Idempotent-Replayed: true, no second effect', async () => {
      const [a, b, c] = await accounts();
      const extra = uid(); // where the control below opens its account
      const k = key();
      const first = await send(app, route.req(a, b, c), k);
      expect(first.status).toBe(route.created);
      expect(first.header).toBeUndefined();
      const after = await state([a, b, c, extra]);

      for (let retry = 0; retry < 3; retry++) {
        const again = await send(app, route.req(a, b, c), k);
        expect({ status: again.status, body: again.body, header: again.header })
          .toEqual({ status: first.status, body: first.body, header: 'true' });
      }
      expect(await state([a, b, c, extra])).toEqual(after);

      // the control: the same request without a key is a second effect (so the state check above can fail)
      const unkeyed = await send(app, route.name === 'POST /accounts' ? route.req(a, b, extra) : route.req(a, b, c));
      expect(unkeyed.status).toBe(route.created);
      expect(unkeyed.header).toBeUndefined();
      expect(await state([a, b, c, extra])).not.toEqual(after);
    });

    it('same key + different request (same route or another) → 422 IDEMPOTENCY_KEY_MISMATCH, nothing written', async () => {
      const [a, b, c] = await accounts();
      const k = key();
      expect((await send(app, route.req(a, b, c), k)).status).toBe(route.created);
      const after = await state([a, b, c]);
      const mismatch = await send(app, route.other(a, b, c), k);
      expect(mismatch).toMatchObject({
        status: 422, body: { statusCode: 422, code: 'IDEMPOTENCY_KEY_MISMATCH', message: expect.any(String) },
      });
      // keys are per ledger, not per route: the same key on another route is a mismatch too
      const otherRoute = route.name === 'POST /accounts/:id/deposit'
        ? post(`/accounts/${a}/withdraw`, { amount: 7 })
        : post(`/accounts/${a}/deposit`, { amount: 7 });
      expect(await send(app, otherRoute, k)).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_MISMATCH' } });
      expect(await state([a, b, c])).toEqual(after);
      // and the original request is still replayed under that key
      expect(await send(app, route.req(a, b, c), k)).toMatchObject({ status: route.created, replayed: true });
    });

    it(`business rejection (${route.rejection.status} ${route.rejection.code}) is stored and replayed with the header, even once it would succeed`, async () => {
      const [a, b, c] = await accounts();
      const k = key();
      const before = await state([a, b, c]);
      const first = await send(app, route.rejected(a, b, c), k);
      expect(first).toMatchObject({ status: route.rejection.status, replayed: false, body: { code: route.rejection.code } });
      expect(first.header).toBeUndefined();
      expect((await state([a, b, c]) as { api: unknown }).api).toEqual((before as { api: unknown }).api);

      const again = await send(app, route.rejected(a, b, c), k);
      expect({ status: again.status, body: again.body, header: again.header })
        .toEqual({ status: first.status, body: first.body, header: 'true' });

      expect((await send(app, route.fix(a, b, c))).status).toBeLessThan(300); // now the request would pass…
      const afterFix = await state([a, b, c]);
      const replayed = await send(app, route.rejected(a, b, c), k); // …but the key keeps its first outcome
      expect({ status: replayed.status, body: replayed.body, header: replayed.header })
        .toEqual({ status: first.status, body: first.body, header: 'true' });
      expect(await state([a, b, c])).toEqual(afterFix);
    });

    it.each([
      ['refused by the body validation (DTO)', (route: Route, a: string, b: string, c: string): Req => {
        const valid = route.req(a, b, c);
        return { ...valid, payload: { ...(valid.payload as object), amount: 0, balance: -1 } };
      }],
      ['refused by the port\'s rules (after the header was read)', (route: Route, a: string, b: string, c: string) => route.invalid(a, b, c)],
    ])('validation failure (400) %s is not stored: the key stays free for the corrected request', async (_how, invalid) => {
      const [a, b, c] = await accounts();
      const k = key();
      const valid = route.req(a, b, c);
      const recordsBefore = client ? await recordKeys(client, LEDGER) : [];
      const before = await state([a, b, c]);
      const rejected = await send(app, invalid(route, a, b, c), k);
      expect(rejected).toMatchObject({ status: 400, replayed: false, body: { code: 'VALIDATION_FAILED' } });
      expect(await state([a, b, c])).toEqual(before);
      if (client) expect(await recordKeys(client, LEDGER)).toEqual(recordsBefore);

      const corrected = await send(app, valid, k);
      expect(corrected).toMatchObject({ status: route.created, replayed: false });
      expect(corrected.header).toBeUndefined();
      expect(await send(app, valid, k)).toMatchObject({ status: route.created, replayed: true, body: corrected.body });
      // and the invalid request under the now used key is still a 400, not a mismatch nor a replay
      expect(await send(app, invalid(route, a, b, c), k)).toMatchObject({ status: 400, replayed: false, body: { code: 'VALIDATION_FAILED' } });
    });

    it('ten parallel requests with one key → exactly one effect; every answer is the replayed result (or 409 IN_PROGRESS)', async () => {
      const [a, b, c] = await accounts();
      const k = key();
      const answers = await Promise.all(Array.from({ length: 10 }, () => send(app, route.req(a, b, c), k)));
      const ok = answers.filter((r) => r.status === route.created);
      const inProgress = answers.filter((r) => r.status === 409 && r.body?.code === 'IDEMPOTENCY_KEY_IN_PROGRESS');
      expect(ok.length + inProgress.length).toBe(10);
      expect(ok.filter((r) => !r.replayed)).toHaveLength(1); // the one that applied it
      for (const r of ok) expect(r.body).toEqual(ok[0].body);
      for (const r of ok.filter((x) => x.replayed)) expect(r.header).toBe('true');

      // exactly one effect: the accounts look exactly like twins to which the request was applied once
      const twins = await accounts();
      const once = await send(app, route.req(...twins), key());
      expect(once.status).toBe(route.created);
      expect(await view([a, b, c])).toEqual(await view(twins));
      expect(await view([a, b, c])).not.toEqual(await view(await accounts())); // the comparison can fail
    });
  });

  describe('bad Idempotency-Key values → 400 before the store is asked (header values with newlines cannot be sent)', () => {
    it.each<[string, string]>([
      ['empty', ''],
      ['256 characters', 'k'.repeat(256)],
      ['non-ASCII (latin-1)', 'café'],
      ['non-ASCII (CJK)', '日本語'],
      ['a tab', 'tab\there'],
      ['DEL (0x7F)', 'del\x7f'],
    ])('%s', async (_name, bad) => {
      const [a, b, c] = await accounts();
      const before = await state([a, b, c]);
      for (const route of ROUTES) {
        const callsBefore = client ? await commandCalls(client) : 0;
        const res = await send(app, route.req(a, b, c), bad);
        const callsAfter = client ? await commandCalls(client) : 0;
        expect({ route: route.name, status: res.status, code: res.body?.code, field: res.body?.field })
          .toEqual({ route: route.name, status: 400, code: 'VALIDATION_FAILED', field: 'idempotencyKey' });
        expect(res.header).toBeUndefined();
        if (client) expect(callsAfter - callsBefore).toBe(1); // only the first INFO ran in between
      }
      expect(await state([a, b, c])).toEqual(before);
    });

    it('a 255-character key is accepted (the boundary)', async () => {
      const [a, b, c] = await accounts();
      const k = `${uid('k')}${'~'.repeat(255)}`.slice(0, 255);
      expect(await send(app, ROUTES[3].req(a, b, c), k)).toMatchObject({ status: 201, replayed: false });
      expect(await send(app, ROUTES[3].req(a, b, c), k)).toMatchObject({ status: 201, replayed: true });
    });
  });

  if (usesRedis) {
    it(`the record lives under the ledger's hash tag (ra:{${LEDGER}}:idem:<hex>) with a TTL of IDEMPOTENCY_TTL_SECONDS (default 86400)`, async () => {
      const [a, b, c] = await accounts();
      const before = await recordKeys(client!, LEDGER);
      expect((await send(app, ROUTES[3].req(a, b, c), key())).status).toBe(201);
      const added = (await recordKeys(client!, LEDGER)).filter((k) => !before.includes(k));
      expect(added).toEqual([expect.stringMatching(new RegExp(`^ra:\\{${LEDGER}\\}:idem:[0-9a-f]+$`))]);
      const seconds = await client!.ttl(added[0]);
      expect(seconds).toBeGreaterThan(86_400 - 5);
      expect(seconds).toBeLessThanOrEqual(86_400);
    });
  }

  it('IDEMPOTENCY_TTL_SECONDS=1 (part 2, after ~1.2 s): expired records are gone; the key applies again or takes another request', async () => {
    expect(ttl.writtenAt).toBeGreaterThan(0); // part 1 ran
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ttl.writtenAt + 1200 - Date.now())));
    const [kSame, kOther, kRejected] = ttl.keys;
    const { deposit, overdraw } = ttlRequests();

    if (ttlClient) expect(await recordKeys(ttlClient, TTL_LEDGER)).toEqual([]);
    // the same request under the expired key is a new effect (not a replay)…
    const again = await send(short, deposit, kSame);
    expect(again).toMatchObject({ status: 200, replayed: false, body: { balance: 105 } });
    expect(again.header).toBeUndefined();
    // …another request under an expired key is no longer a mismatch…
    expect(await send(short, post('/transfers', { from: ttl.a, to: ttl.b, amount: 1 }), kOther))
      .toMatchObject({ status: 201, replayed: false, body: { from: { balance: 104 }, to: { balance: 10 } } });
    // …and an expired rejection is evaluated afresh
    expect(await send(short, overdraw, kRejected))
      .toMatchObject({ status: 422, replayed: false, body: { code: 'INSUFFICIENT_FUNDS', balance: 10 } });
    expect((await send(short, get(`/accounts/${ttl.a}/history`))).body.entries).toHaveLength(4);
  });
});
