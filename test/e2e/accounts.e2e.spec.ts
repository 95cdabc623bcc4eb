/**
 * The HTTP API end to end: the real app (createApp + loadConfig, as main.ts builds it) driven through Fastify's
 * inject, against a PRIVATE redis-server per strategy. The full route and error suite runs on `functions`; a
 * smoke subset (every route once, the main errors, the outage) runs on `transactions` and `memory`.
 *
 * Every 4xx is also checked for side effects: the whole keyspace is identical before and after, and a
 * validation failure must not send Redis a single command (INFO commandstats total calls).
 */
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { REDIS_CLIENT } from '@kernel/nest';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import type { AtomicStrategy } from '@kernel/core';
import { assembleLibrary } from '@kernel/redis';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MAX_BATCH = 3;
const LEDGER = 'e2e';
const LIBRARY_VERSION = assembleLibrary('accounts', join(__dirname, '..', '..', 'lua')).version;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Req {
  method: 'GET' | 'POST';
  url: string;
  /** Sent as JSON. */
  payload?: unknown;
  /** Sent verbatim as `application/json` (malformed bodies). */
  raw?: string;
}

interface Res {
  status: number;
  body: any;
}

interface Ctx {
  strategy: AtomicStrategy;
  app: NestFastifyApplication;
  server?: RedisServer;
  /** Test-side client of the private server (snapshots, INFO); undefined for `memory`. */
  client?: Redis;
}

async function send(ctx: Ctx, req: Req): Promise<Res> {
  const res = req.raw !== undefined
    ? await ctx.app.inject({ method: req.method, url: req.url, payload: req.raw, headers: { 'content-type': 'application/json' } })
    : await ctx.app.inject({ method: req.method, url: req.url, payload: req.payload as object | undefined });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

const get = (url: string): Req => ({ method: 'GET', url });
const post = (url: string, payload?: unknown): Req => ({ method: 'POST', url, payload });

/** Sum of `calls=` over INFO commandstats. Redis counts an INFO after it ran, so the next read sees it. */
async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/**
 * Sends a request that must be rejected with `status`/`code`, and proves it changed nothing in Redis; with
 * `noCommands`, that Redis was not even asked (the only call between the two INFO reads is the first INFO).
 */
async function expectRejected(ctx: Ctx, req: Req, status: number, code: string, { noCommands = false } = {}): Promise<Res['body']> {
  const before = ctx.client ? await keyspaceSnapshot(ctx.client) : '';
  const callsBefore = ctx.client ? await commandCalls(ctx.client) : 0;
  const res = await send(ctx, req);
  const callsAfter = ctx.client ? await commandCalls(ctx.client) : 0;
  const after = ctx.client ? await keyspaceSnapshot(ctx.client) : '';
  expect(res).toEqual({ status, body: expect.objectContaining({ statusCode: status, code, message: expect.any(String) }) });
  expect(after).toBe(before);
  if (ctx.client && noCommands) expect(callsAfter - callsBefore).toBe(1);
  return res.body;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, limitMs = 10_000): Promise<void> {
  for (const started = Date.now(); Date.now() - started < limitMs;) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const STRATEGIES: { strategy: AtomicStrategy; full: boolean }[] = [
  { strategy: 'functions', full: true },
  { strategy: 'transactions', full: false },
  { strategy: 'memory', full: false },
];

describe.each(STRATEGIES)('HTTP API, strategy $strategy', ({ strategy, full }) => {
  const ctx = { strategy } as Ctx;
  const usesRedis = strategy !== 'memory';
  let n = 0;
  /** A fresh account id per use, so tests never share accounts. */
  const uid = (prefix = 'acct') => `${prefix}-${++n}`;

  const open = async (id: string, balance = 0, minBalance?: number): Promise<void> => {
    const res = await send(ctx, post('/accounts', minBalance === undefined ? { id, balance } : { id, balance, minBalance }));
    expect(res.status).toBe(201);
  };
  const balanceOf = async (id: string): Promise<number> => {
    const res = await send(ctx, get(`/accounts/${id}`));
    expect(res.status).toBe(200);
    return res.body.balance;
  };

  beforeAll(async () => {
    if (usesRedis) {
      ctx.server = await RedisServer.start();
      ctx.client = ctx.server.client();
    }
    const config = loadConfig({
      ATOMIC_STRATEGY: strategy,
      REDIS_URL: ctx.server?.url ?? 'redis://127.0.0.1:1', // memory must not need it
      LEDGER,
      MAX_BATCH: String(MAX_BATCH),
      RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0', // no background sweeps: the tests count the commands Redis receives
    });
    ctx.app = await createApp(config, { logger: false });
    await ctx.app.init(); // registers the routes (listen() does it in main.ts)
    await ctx.app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await ctx.app?.close();
    await ctx.server?.stop();
  });

  // ───────────────────────────── smoke: every strategy ─────────────────────────────

  it('POST /accounts → 201 {id,balance,minBalance}; GET /accounts/:id → 200 with the same account', async () => {
    const a = uid();
    const opened = await send(ctx, post('/accounts', { id: a, balance: 100, minBalance: -50 }));
    expect(opened).toEqual({ status: 201, body: { id: a, balance: 100, minBalance: -50, pendingDebits: 0, pendingCredits: 0, available: 100 } });
    expect(await send(ctx, get(`/accounts/${a}`))).toEqual({ status: 200, body: { id: a, balance: 100, minBalance: -50, pendingDebits: 0, pendingCredits: 0, available: 100 } });

    const b = uid();
    expect(await send(ctx, post('/accounts', { id: b }))).toEqual({ status: 201, body: { id: b, balance: 0, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 0 } });
    expect(await send(ctx, get(`/accounts/${b}`))).toEqual({ status: 200, body: { id: b, balance: 0, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 0 } });
  });

  if (usesRedis) {
    it(`stores the account under the ledger's hash tag (ra:{${LEDGER}}:acct:<id>)`, async () => {
      const a = uid();
      await open(a, 7);
      expect(await ctx.client!.exists(`ra:{${LEDGER}}:acct:${a}`)).toBe(1);
    });
  }

  it('POST /accounts/:id/deposit and /withdraw → 200 {id,balance}', async () => {
    const a = uid();
    await open(a, 10);
    expect(await send(ctx, post(`/accounts/${a}/deposit`, { amount: 25 }))).toEqual({ status: 200, body: { id: a, balance: 35 } });
    expect(await send(ctx, post(`/accounts/${a}/withdraw`, { amount: 30 }))).toEqual({ status: 200, body: { id: a, balance: 5 } });
    expect(await balanceOf(a)).toBe(5);
  });

  it('POST /transfers → 201 receipt {id, from, to, amount, at}', async () => {
    const [a, b] = [uid(), uid()];
    await open(a, 100);
    await open(b, 1);
    const res = await send(ctx, post('/transfers', { from: a, to: b, amount: 40 }));
    expect(res).toEqual({
      status: 201,
      body: { id: expect.stringMatching(UUID), from: { id: a, balance: 60 }, to: { id: b, balance: 41 }, amount: 40, at: expect.stringMatching(ISO) },
    });
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([60, 41]);
  });

  it('POST /transfers/batch → 201 {transfers:[receipts]}, applied in order (later items see earlier ones)', async () => {
    const [a, b, c] = [uid(), uid(), uid()];
    await open(a, 10);
    await open(b, 0);
    await open(c, 0);
    // b starts empty: item 1 can only pass because item 0 ran first.
    const res = await send(ctx, post('/transfers/batch', { transfers: [{ from: a, to: b, amount: 10 }, { from: b, to: c, amount: 7 }] }));
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      transfers: [
        { id: expect.stringMatching(UUID), from: { id: a, balance: 0 }, to: { id: b, balance: 10 }, amount: 10, at: expect.stringMatching(ISO) },
        { id: expect.stringMatching(UUID), from: { id: b, balance: 3 }, to: { id: c, balance: 7 }, amount: 7, at: expect.stringMatching(ISO) },
      ],
    });
    expect(res.body.transfers[0].id).not.toBe(res.body.transfers[1].id);
    expect([await balanceOf(a), await balanceOf(b), await balanceOf(c)]).toEqual([0, 3, 7]);
  });

  it('GET /accounts/:id/history → 200 {entries,next}; pages walk every entry newest first, no duplicates', async () => {
    const [a, b] = [uid(), uid()];
    await open(a, 0);
    await open(b, 100);
    // 7 operations on a, in this order (oldest first):
    const expected: { type: string; amount: number; counterparty: string | null; balance: number }[] = [];
    let balance = 0;
    for (const amount of [1, 2, 3, 4]) {
      expect((await send(ctx, post(`/accounts/${a}/deposit`, { amount }))).status).toBe(200);
      expected.push({ type: 'deposit', amount, counterparty: null, balance: (balance += amount) });
    }
    await send(ctx, post(`/accounts/${a}/withdraw`, { amount: 5 }));
    expected.push({ type: 'withdrawal', amount: -5, counterparty: null, balance: 5 });
    const out = await send(ctx, post('/transfers', { from: a, to: b, amount: 2 }));
    expected.push({ type: 'transfer_out', amount: -2, counterparty: b, balance: 3 });
    const into = await send(ctx, post('/transfers', { from: b, to: a, amount: 20 }));
    expected.push({ type: 'transfer_in', amount: 20, counterparty: b, balance: 23 });
    const newestFirst = expected.reverse();

    const all = await send(ctx, get(`/accounts/${a}/history`));
    expect(all.status).toBe(200);
    expect(all.body.next).toBeNull();
    expect(all.body.entries).toEqual(newestFirst.map((e) => ({ ...e, transferId: expect.any(String), at: expect.stringMatching(ISO) })));
    // transfer entries carry the receipt's id; the source's entry also its time (the receipt's `at`)
    expect(all.body.entries[0]).toMatchObject({ transferId: into.body.id });
    expect(all.body.entries[1]).toMatchObject({ transferId: out.body.id, at: out.body.at });
    const ats = all.body.entries.map((e: { at: string }) => e.at);
    expect([...ats].sort().reverse()).toEqual(ats);

    for (const limit of [3, 7, 1]) {
      const pages: unknown[][] = [];
      let cursor: string | null = null;
      do {
        const res: Res = await send(ctx, get(`/accounts/${a}/history?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`));
        expect(res.status).toBe(200);
        expect(res.body.entries.length).toBeGreaterThan(0);
        expect(res.body.entries.length).toBeLessThanOrEqual(limit);
        pages.push(res.body.entries);
        cursor = res.body.next;
        expect(pages.length).toBeLessThanOrEqual(7);
      } while (cursor !== null);
      expect(pages.length).toBe(Math.ceil(7 / limit)); // no trailing empty page, even when 7 % limit === 0
      const walked = pages.flat() as { transferId: string }[];
      expect(walked).toEqual(all.body.entries);
      expect(new Set(walked.map((e) => e.transferId)).size).toBe(walked.length);
    }
  });

  it('GET /health → 200', async () => {
    const res = await send(ctx, get('/health'));
    if (strategy === 'functions') {
      const accounts = expect.arrayContaining([expect.objectContaining({ library: 'accounts', version: LIBRARY_VERSION })]);
      expect(res).toEqual({
        status: 200,
        // The app loads every module's library (accounts, inventory, orders): health lists them all, and the one
        // server with the versions loaded there.
        body: { status: 'ok', store: 'redis', strategy, functions: accounts, nodes: [{ address: `127.0.0.1:${ctx.server!.port}`, reachable: true, functions: accounts }] },
      });
    } else if (usesRedis) {
      expect(res).toEqual({ status: 200, body: { status: 'ok', store: 'redis', strategy, nodes: [{ address: `127.0.0.1:${ctx.server!.port}`, reachable: true }] } });
    } else {
      expect(res).toEqual({ status: 200, body: { status: 'ok', store: 'memory', strategy } });
    }
  });

  it('404 ACCOUNT_NOT_FOUND, 409 ACCOUNT_EXISTS, 422 INSUFFICIENT_FUNDS with the batch index — nothing written', async () => {
    const [a, b] = [uid(), uid()];
    await open(a, 10);
    await open(b, 0);
    await expectRejected(ctx, get(`/accounts/${uid('missing')}`), 404, 'ACCOUNT_NOT_FOUND');
    await expectRejected(ctx, post('/accounts', { id: a, balance: 999 }), 409, 'ACCOUNT_EXISTS');
    const body = await expectRejected(ctx, post('/transfers/batch', {
      transfers: [{ from: a, to: b, amount: 6 }, { from: b, to: a, amount: 1 }, { from: a, to: b, amount: 6 }],
    }), 422, 'INSUFFICIENT_FUNDS');
    expect(body).toMatchObject({ index: 2, account: a, balance: 5, floor: 0 });
    expect([await balanceOf(a), await balanceOf(b)]).toEqual([10, 0]);
  });

  it('400 VALIDATION_FAILED before the store is asked', async () => {
    const a = uid();
    await open(a, 10);
    await expectRejected(ctx, post(`/accounts/${a}/deposit`, { amount: 1.5 }), 400, 'VALIDATION_FAILED', { noCommands: true });
    await expectRejected(ctx, post('/transfers', { from: a, to: a, amount: 1 }), 400, 'VALIDATION_FAILED', { noCommands: true });
    await expectRejected(ctx, get('/accounts/a:b'), 400, 'VALIDATION_FAILED', { noCommands: true });
    expect(await balanceOf(a)).toBe(10);
  });

  it('INSUFFICIENT_FUNDS details carry the exact balance and floor, also above 10^14', async () => {
    // Same rule, same details in every adapter: the memory and transactions adapters report the exact integers.
    const big = 1_234_567_890_123_457;
    const a = uid();
    await open(a, big, big);
    const body = await expectRejected(ctx, post(`/accounts/${a}/withdraw`, { amount: 1 }), 422, 'INSUFFICIENT_FUNDS');
    expect({ balance: body.balance, floor: body.floor }).toEqual({ balance: big, floor: big });
  });

  // ───────────────────────────── full suite: functions ─────────────────────────────

  if (full) {
    describe('full route suite', () => {
      let existing: string;
      let other: string;
      beforeAll(async () => {
        existing = uid('v');
        other = uid('v');
        await open(existing, 100);
        await open(other, 100);
      });

      const badIds: [string, string][] = [['a:b', 'a:b'], ['a{b}', 'a%7Bb%7D'], ['65 chars', 'x'.repeat(65)]];

      describe('400 VALIDATION_FAILED: nothing written, no command sent', () => {
        const at = () => existing; // resolved when the test runs
        const cases: [string, () => Req][] = [
          // POST /accounts
          ['open: unknown field', () => post('/accounts', { id: uid('n'), balance: 1, colour: 'red' })],
          ['open: missing id', () => post('/accounts', { balance: 1 })],
          ['open: numeric id', () => post('/accounts', { id: 42 })],
          ['open: balance 1.5', () => post('/accounts', { id: uid('n'), balance: 1.5 })],
          ['open: balance "10"', () => post('/accounts', { id: uid('n'), balance: '10' })],
          ['open: negative balance', () => post('/accounts', { id: uid('n'), balance: -1 })],
          ['open: balance 1e21', () => post('/accounts', { id: uid('n'), balance: 1e21 })],
          ['open: balance 2**53 (unsafe)', () => post('/accounts', { id: uid('n'), balance: 2 ** 53 })],
          ['open: balance null', () => post('/accounts', { id: uid('n'), balance: null })],
          ['open: minBalance null', () => post('/accounts', { id: uid('n'), minBalance: null })],
          ['open: minBalance -(2**53) (unsafe)', () => post('/accounts', { id: uid('n'), minBalance: -(2 ** 53) })],
          ['open: minBalance above balance', () => post('/accounts', { id: uid('n'), balance: 5, minBalance: 6 })],
          ['open: body is an array', () => post('/accounts', [{ id: uid('n') }])],
          ...badIds.map(([name, id]): [string, () => Req] => [`open: id ${name}`, () => post('/accounts', { id: decodeURIComponent(id) })]),
          // GET /accounts/:id
          ...badIds.map(([name, id]): [string, () => Req] => [`get: path id ${name}`, () => get(`/accounts/${id}`)]),
          // deposit / withdraw
          ['deposit: amount 0', () => post(`/accounts/${at()}/deposit`, { amount: 0 })],
          ['deposit: amount -5', () => post(`/accounts/${at()}/deposit`, { amount: -5 })],
          ['deposit: amount 1.5', () => post(`/accounts/${at()}/deposit`, { amount: 1.5 })],
          ['deposit: amount "10"', () => post(`/accounts/${at()}/deposit`, { amount: '10' })],
          ['deposit: amount 1e21', () => post(`/accounts/${at()}/deposit`, { amount: 1e21 })],
          ['deposit: amount 2**53 (unsafe)', () => post(`/accounts/${at()}/deposit`, { amount: 2 ** 53 })],
          ['deposit: amount null', () => post(`/accounts/${at()}/deposit`, { amount: null })],
          ['deposit: no amount', () => post(`/accounts/${at()}/deposit`, {})],
          ['deposit: unknown field', () => post(`/accounts/${at()}/deposit`, { amount: 1, note: 'x' })],
          ['withdraw: amount 0', () => post(`/accounts/${at()}/withdraw`, { amount: 0 })],
          ['withdraw: amount -5', () => post(`/accounts/${at()}/withdraw`, { amount: -5 })],
          ['withdraw: amount 2**53 (unsafe)', () => post(`/accounts/${at()}/withdraw`, { amount: 2 ** 53 })],
          ...badIds.flatMap(([name, id]): [string, () => Req][] => [
            [`deposit: path id ${name}`, () => post(`/accounts/${id}/deposit`, { amount: 1 })],
            [`withdraw: path id ${name}`, () => post(`/accounts/${id}/withdraw`, { amount: 1 })],
          ]),
          // transfers
          ['transfer: from = to', () => post('/transfers', { from: at(), to: at(), amount: 1 })],
          ['transfer: amount 0', () => post('/transfers', { from: at(), to: other, amount: 0 })],
          ['transfer: amount -1', () => post('/transfers', { from: at(), to: other, amount: -1 })],
          ['transfer: amount 1.5', () => post('/transfers', { from: at(), to: other, amount: 1.5 })],
          ['transfer: amount "10"', () => post('/transfers', { from: at(), to: other, amount: '10' })],
          ['transfer: amount 1e21', () => post('/transfers', { from: at(), to: other, amount: 1e21 })],
          ['transfer: amount 2**53 (unsafe)', () => post('/transfers', { from: at(), to: other, amount: 2 ** 53 })],
          ['transfer: minBalance null', () => post('/transfers', { from: at(), to: other, amount: 1, minBalance: null })],
          ['transfer: minBalance 0.5', () => post('/transfers', { from: at(), to: other, amount: 1, minBalance: 0.5 })],
          ['transfer: unknown field', () => post('/transfers', { from: at(), to: other, amount: 1, memo: 'x' })],
          ['transfer: missing to', () => post('/transfers', { from: at(), amount: 1 })],
          ...badIds.map(([name, id]): [string, () => Req] =>
            [`transfer: from ${name}`, () => post('/transfers', { from: decodeURIComponent(id), to: other, amount: 1 })]),
          ...badIds.map(([name, id]): [string, () => Req] =>
            [`transfer: to ${name}`, () => post('/transfers', { from: at(), to: decodeURIComponent(id), amount: 1 })]),
          // batch
          ['batch: empty', () => post('/transfers/batch', { transfers: [] })],
          ['batch: oversized (MAX_BATCH + 1)', () => post('/transfers/batch', {
            transfers: Array.from({ length: MAX_BATCH + 1 }, () => ({ from: at(), to: other, amount: 1 })),
          })],
          ['batch: not an array', () => post('/transfers/batch', { transfers: { from: at(), to: other, amount: 1 } })],
          ['batch: missing transfers', () => post('/transfers/batch', {})],
          ['batch: unknown top-level field', () => post('/transfers/batch', { transfers: [{ from: at(), to: other, amount: 1 }], dryRun: true })],
          ['batch: unknown field in an item', () => post('/transfers/batch', { transfers: [{ from: at(), to: other, amount: 1, x: 1 }] })],
          ['batch: null item', () => post('/transfers/batch', { transfers: [{ from: at(), to: other, amount: 1 }, null] })],
          ['batch: from = to in item 1', () => post('/transfers/batch', {
            transfers: [{ from: at(), to: other, amount: 1 }, { from: other, to: other, amount: 1 }],
          })],
          ['batch: unsafe amount in item 1', () => post('/transfers/batch', {
            transfers: [{ from: at(), to: other, amount: 1 }, { from: other, to: at(), amount: 2 ** 53 }],
          })],
          ['batch: bad id in item 0', () => post('/transfers/batch', { transfers: [{ from: 'a{b}', to: other, amount: 1 }] })],
          // malformed JSON
          ['malformed JSON (open)', () => ({ method: 'POST', url: '/accounts', raw: '{"id": "x",' })],
          ['malformed JSON (transfer)', () => ({ method: 'POST', url: '/transfers', raw: "{from: 'a'}" })],
          ['empty JSON body', () => ({ method: 'POST', url: `/accounts/${at()}/deposit`, raw: '' })],
          ['JSON with a __proto__ key', () => ({ method: 'POST', url: '/accounts', raw: `{"id":"${uid('n')}","__proto__":{"balance":5}}` })],
          // history query
          ['history: limit=0', () => get(`/accounts/${at()}/history?limit=0`)],
          ['history: limit=abc', () => get(`/accounts/${at()}/history?limit=abc`)],
          ['history: limit=1001', () => get(`/accounts/${at()}/history?limit=1001`)],
          ['history: limit=-1', () => get(`/accounts/${at()}/history?limit=-1`)],
          ['history: limit=2.5', () => get(`/accounts/${at()}/history?limit=2.5`)],
          ['history: cursor=abc', () => get(`/accounts/${at()}/history?cursor=abc`)],
          ...badIds.map(([name, id]): [string, () => Req] => [`history: path id ${name}`, () => get(`/accounts/${id}/history`)]),
        ];

        it.each(cases)('%s', async (_name, req) => {
          await expectRejected(ctx, req(), 400, 'VALIDATION_FAILED', { noCommands: true });
        });

        it('lists what is wrong', async () => {
          const body = await expectRejected(ctx, post('/accounts', { id: 'a:b', balance: 1.5, colour: 'red' }), 400, 'VALIDATION_FAILED');
          expect(body.errors).toEqual(expect.arrayContaining([expect.stringContaining('colour'), expect.stringContaining('balance')]));
          expect(body.errors.length).toBeGreaterThanOrEqual(3);
        });

        it('the INFO-based command counter does see a request that reaches Redis (the check above can fail)', async () => {
          const before = await commandCalls(ctx.client!);
          expect((await send(ctx, get(`/accounts/${existing}`))).status).toBe(200);
          expect(await commandCalls(ctx.client!) - before).toBeGreaterThan(1);
        });
      });

      describe('404 ACCOUNT_NOT_FOUND: nothing written', () => {
        it.each<[string, () => Req, Record<string, unknown>]>([
          ['GET /accounts/:id', () => get('/accounts/nobody'), {}],
          ['deposit', () => post('/accounts/nobody/deposit', { amount: 1 }), {}],
          ['withdraw', () => post('/accounts/nobody/withdraw', { amount: 1 }), {}],
          ['history', () => get('/accounts/nobody/history'), {}],
          ['transfer from a missing account', () => post('/transfers', { from: 'nobody', to: existing, amount: 1 }), { account: 'nobody' }],
          ['transfer to a missing account', () => post('/transfers', { from: existing, to: 'nobody', amount: 1 }), { account: 'nobody' }],
          ['batch: item 1 names a missing account', () => post('/transfers/batch', {
            transfers: [{ from: existing, to: other, amount: 1 }, { from: other, to: 'nobody', amount: 1 }],
          }), { index: 1, account: 'nobody' }],
          ['batch: item 0 names a missing source', () => post('/transfers/batch', {
            transfers: [{ from: 'nobody', to: other, amount: 1 }],
          }), { index: 0, account: 'nobody' }],
        ])('%s', async (_name, req, details) => {
          const body = await expectRejected(ctx, req(), 404, 'ACCOUNT_NOT_FOUND');
          expect(body).toMatchObject(details);
        });

        it('a plain transfer carries no batch index', async () => {
          const body = await expectRejected(ctx, post('/transfers', { from: existing, to: 'nobody', amount: 1 }), 404, 'ACCOUNT_NOT_FOUND');
          expect(body).not.toHaveProperty('index');
        });
      });

      it('409 ACCOUNT_EXISTS: the existing account is untouched', async () => {
        const a = uid();
        await open(a, 5, -3);
        await expectRejected(ctx, post('/accounts', { id: a }), 409, 'ACCOUNT_EXISTS');
        await expectRejected(ctx, post('/accounts', { id: a, balance: 1000, minBalance: 0 }), 409, 'ACCOUNT_EXISTS');
        expect((await send(ctx, get(`/accounts/${a}`))).body).toEqual({ id: a, balance: 5, minBalance: -3, pendingDebits: 0, pendingCredits: 0, available: 5 });
      });

      describe('422 INSUFFICIENT_FUNDS: nothing written', () => {
        it('withdraw below the floor (an overdraft limit is honoured exactly)', async () => {
          const a = uid();
          await open(a, 10, -20);
          expect((await send(ctx, post(`/accounts/${a}/withdraw`, { amount: 30 }))).body).toEqual({ id: a, balance: -20 });
          const body = await expectRejected(ctx, post(`/accounts/${a}/withdraw`, { amount: 1 }), 422, 'INSUFFICIENT_FUNDS');
          expect(body).toMatchObject({ balance: -20, floor: -20 });
        });

        it('transfer below the source floor', async () => {
          const [a, b] = [uid(), uid()];
          await open(a, 50, 10);
          await open(b);
          const body = await expectRejected(ctx, post('/transfers', { from: a, to: b, amount: 41 }), 422, 'INSUFFICIENT_FUNDS');
          expect(body).toMatchObject({ account: a, balance: 50, floor: 10 });
          expect(body).not.toHaveProperty('index');
        });

        it('transfer minBalance above the account floor is enforced; below it, the account floor still holds', async () => {
          const [a, b] = [uid(), uid()];
          await open(a, 100, 0);
          await open(b);
          const body = await expectRejected(ctx, post('/transfers', { from: a, to: b, amount: 60, minBalance: 50 }), 422, 'INSUFFICIENT_FUNDS');
          expect(body).toMatchObject({ account: a, balance: 100, floor: 50 });
          const lower = await expectRejected(ctx, post('/transfers', { from: a, to: b, amount: 101, minBalance: -500 }), 422, 'INSUFFICIENT_FUNDS');
          expect(lower).toMatchObject({ floor: 0 });
          const ok = await send(ctx, post('/transfers', { from: a, to: b, amount: 50, minBalance: 50 }));
          expect(ok).toMatchObject({ status: 201, body: { from: { id: a, balance: 50 }, to: { id: b, balance: 50 } } });
        });

        it('batch: the failing item index, earlier items rolled back', async () => {
          const [a, b, c] = [uid(), uid(), uid()];
          await open(a, 10);
          await open(b, 0);
          await open(c, 0);
          const body = await expectRejected(ctx, post('/transfers/batch', {
            transfers: [{ from: a, to: b, amount: 10 }, { from: b, to: c, amount: 4 }, { from: b, to: c, amount: 7, minBalance: 0 }],
          }), 422, 'INSUFFICIENT_FUNDS');
          expect(body).toMatchObject({ index: 2, account: b, balance: 6, floor: 0 });
          expect([await balanceOf(a), await balanceOf(b), await balanceOf(c)]).toEqual([10, 0, 0]);
          const history = await send(ctx, get(`/accounts/${a}/history`));
          expect(history.body).toEqual({ entries: [], next: null });
        });
      });

      describe('422 BALANCE_LIMIT_EXCEEDED: nothing written', () => {
        it('deposit past the largest safe integer', async () => {
          const a = uid();
          await open(a, MAX_SAFE - 1);
          expect((await send(ctx, post(`/accounts/${a}/deposit`, { amount: 1 }))).body).toEqual({ id: a, balance: MAX_SAFE });
          await expectRejected(ctx, post(`/accounts/${a}/deposit`, { amount: 1 }), 422, 'BALANCE_LIMIT_EXCEEDED');
          expect(await balanceOf(a)).toBe(MAX_SAFE);
        });

        it('transfer and batch into a full account', async () => {
          const [a, full] = [uid(), uid()];
          await open(a, 10);
          await open(full, MAX_SAFE);
          const body = await expectRejected(ctx, post('/transfers', { from: a, to: full, amount: 1 }), 422, 'BALANCE_LIMIT_EXCEEDED');
          expect(body).toMatchObject({ account: full });
          const batch = await expectRejected(ctx, post('/transfers/batch', {
            transfers: [{ from: full, to: a, amount: 1 }, { from: a, to: full, amount: 2 }],
          }), 422, 'BALANCE_LIMIT_EXCEEDED');
          expect(batch).toMatchObject({ index: 1, account: full });
        });
      });

      it('a body that is not JSON is a 415 UNSUPPORTED_MEDIA_TYPE in the same error shape', async () => {
        const before = await commandCalls(ctx.client!);
        const res = await ctx.app.inject({ method: 'POST', url: '/accounts', payload: '<id>x</id>', headers: { 'content-type': 'application/xml' } });
        expect(await commandCalls(ctx.client!) - before).toBe(1);
        expect({ status: res.statusCode, body: res.json() })
          .toEqual({ status: 415, body: { statusCode: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.any(String) } });
      });

      it('an unknown route is a 404 NOT_FOUND in the same error shape', async () => {
        await expectRejected(ctx, get('/nowhere'), 404, 'NOT_FOUND', { noCommands: true });
      });

      it('history: limit=1000 (the maximum) is accepted', async () => {
        expect(await send(ctx, get(`/accounts/${existing}/history?limit=1000`))).toEqual({ status: 200, body: { entries: [], next: null } });
      });
    });
  }

  // ───────────────────────────── outage: Redis strategies ─────────────────────────────

  if (usesRedis) {
    describe('Redis outage (runs last: restarts the server, its data is gone)', () => {
      const appClient = () => ctx.app.get<Redis>(REDIS_CLIENT);
      // Probes never load a library: after a restart, requests reload what they need (one GET per library).
      const healthy = async () => {
        if (strategy === 'functions') for (const url of ['/accounts/probe', '/inventory/probe', '/orders/probe', '/kv/probe']) await send(ctx, get(url));
        return (await send(ctx, get('/health'))).status === 200;
      };

      if (strategy === 'functions') {
        it('a request in flight when Redis dies is 503 OUTCOME_UNKNOWN', async () => {
          const a = uid();
          await open(a, 10);
          const pauser = ctx.server!.client();
          await pauser.call('CLIENT', 'PAUSE', '10000', 'ALL'); // the server holds the FCALL unanswered
          const pending = send(ctx, post(`/accounts/${a}/deposit`, { amount: 5 }));
          // ioredis' queue of commands written and awaiting a reply (internal): the FCALL has been sent
          await until(() => (appClient() as unknown as { commandQueue: { length: number } }).commandQueue.length > 0, 'the FCALL to be sent');
          await ctx.server!.kill();
          const res = await pending;
          expect(res).toEqual({ status: 503, body: expect.objectContaining({ statusCode: 503, code: 'OUTCOME_UNKNOWN' }) });
          await ctx.server!.restart();
          await until(healthy, 'health to be 200 after the restart');
        });
      }

      if (strategy === 'transactions') {
        it('after a restart, WATCH transactions work again even with several pooled connections', async () => {
          // Fill the WATCH pool with several connections (concurrent transactions each take one).
          const ids = Array.from({ length: 6 }, () => uid('pool'));
          for (const id of ids) await open(id, 10);
          const results = await Promise.all(ids.map((id) => send(ctx, post(`/accounts/${id}/deposit`, { amount: 1 }))));
          expect(results.map((r) => r.status)).toEqual(ids.map(() => 200));
          await ctx.server!.restart();
          await until(healthy, 'health to be 200 after the restart');
          const a = uid();
          await open(a, 10);
          const res = await send(ctx, post(`/accounts/${a}/deposit`, { amount: 5 }));
          expect(res).toEqual({ status: 200, body: { id: a, balance: 15 } });
        });
      }

      it('503 STORE_UNAVAILABLE while Redis is down; recovers after a restart with the data gone (404, never a zero balance)', async () => {
        const [a, b] = [uid(), uid()];
        await open(a, 100);
        await open(b, 0);
        await ctx.server!.kill();
        await until(() => appClient().status !== 'ready', 'the client to notice the connection is gone');

        const whileDown: Req[] = [
          get(`/accounts/${a}`),
          post('/accounts', { id: uid() }),
          post(`/accounts/${a}/deposit`, { amount: 1 }),
          post(`/accounts/${a}/withdraw`, { amount: 1 }),
          post('/transfers', { from: a, to: b, amount: 1 }),
          post('/transfers/batch', { transfers: [{ from: a, to: b, amount: 1 }] }),
          get(`/accounts/${a}/history`),
        ];
        for (const req of whileDown) {
          const res = await send(ctx, req);
          expect({ req: `${req.method} ${req.url}`, ...res })
            .toEqual({ req: `${req.method} ${req.url}`, status: 503, body: expect.objectContaining({ statusCode: 503, code: 'STORE_UNAVAILABLE' }) });
        }
        const health = await send(ctx, get('/health'));
        expect(health).toEqual({ status: 503, body: expect.objectContaining({ status: 'unavailable', store: 'redis', strategy }) });
        expect(health.body.nodes).toEqual([{ address: `127.0.0.1:${ctx.server!.port}`, reachable: false, error: expect.any(String) }]);

        await ctx.server!.restart();
        await until(healthy, 'health to be 200 after the restart');
        const after = await send(ctx, get('/health'));
        if (strategy === 'functions') {
          const accounts = expect.arrayContaining([expect.objectContaining({ library: 'accounts', version: LIBRARY_VERSION })]);
          expect(after.body).toEqual({
            status: 'ok', store: 'redis', strategy, functions: accounts, nodes: [{ address: `127.0.0.1:${ctx.server!.port}`, reachable: true, functions: accounts }],
          });
          const libraries = (await ctx.client!.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'accounts')) as unknown[];
          expect(libraries).toHaveLength(1); // the requests reloaded it on the fresh server
        } else {
          expect(after.body).toEqual({ status: 'ok', store: 'redis', strategy, nodes: [{ address: `127.0.0.1:${ctx.server!.port}`, reachable: true }] });
        }

        expect(await send(ctx, get(`/accounts/${a}`))).toEqual({
          status: 404, body: expect.objectContaining({ statusCode: 404, code: 'ACCOUNT_NOT_FOUND' }),
        });
        expect(await send(ctx, post('/accounts', { id: a, balance: 3 }))).toEqual({ status: 201, body: { id: a, balance: 3, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 3 } });
        expect(await send(ctx, post('/transfers', { from: a, to: uid('gone'), amount: 1 }))).toMatchObject({
          status: 404, body: { code: 'ACCOUNT_NOT_FOUND' },
        });
      });

      if (strategy === 'functions') {
        it('after a restart, the first FCALL reloads the lost library by itself (no health call needed)', async () => {
          await ctx.server!.restart();
          await until(() => appClient().status === 'ready', 'the client to reconnect');
          expect(await ctx.client!.call('FUNCTION', 'LIST')).toEqual([]);
          const a = uid();
          expect(await send(ctx, get(`/accounts/${a}`))).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND' } });
          expect(await send(ctx, post('/accounts', { id: a, balance: 1 }))).toMatchObject({ status: 201 });
        });
      }
    });
  }
});
