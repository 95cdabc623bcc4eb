/**
 * The OpenAPI document is complete and exact:
 *  - it is a valid OpenAPI document (@seriousme/openapi-schema-validator);
 *  - every route the app serves is documented, and every documented route is exercised here;
 *  - real traffic through every route (functions strategy, private redis-server) — successes, every business
 *    error, and per route VALIDATION_FAILED, IDEMPOTENCY_KEY_MISMATCH, 413/415 and STORE_UNAVAILABLE — is
 *    checked against the document: status documented, body valid against its schema (ajv), headers
 *    (Idempotent-Replayed) documented and valid;
 *  - every (route, status, code) the document promises is seen, except the few this setup cannot produce (listed).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { Drain } from '../../src/health/drain';
import { Answer, CallOptions, DocumentedClient, documentedOutcomes, OpenApiDocument, operationsOf, ResponseValidator } from '../support/openapi';

const MAX = Number.MAX_SAFE_INTEGER;

/** Documented, but not producible by HTTP against a healthy functions-strategy server (each has its own suite). */
const NOT_PRODUCIBLE_HERE: Record<string, string> = {
  CONFLICT: 'optimistic retries exhausted: the transactions strategy only (test/*.concurrency.spec.ts)',
  OUTCOME_UNKNOWN: 'a reply lost after the command was sent (test/faults/lost-reply.spec.ts, timeout.spec.ts)',
  IDEMPOTENCY_KEY_IN_PROGRESS: 'reserved: our atomic steps never leave a key in progress',
};
/** A valid body of each plain write route that takes one (bodies are checked before the shard is looked up). */
const VALID_BODIES: Record<string, unknown> = {
  'POST /accounts': { id: 'x' },
  'POST /accounts/{id}/deposit': { amount: 1 },
  'POST /accounts/{id}/withdraw': { amount: 1 },
  'POST /transfers': { from: 'x', to: 'y', amount: 1 },
  'POST /transfers/batch': { transfers: [{ from: 'x', to: 'y', amount: 1 }] },
  'POST /transfers/{id}/post': {},
  'PUT /inventory/{productId}': { stock: 1 },
  'POST /inventory/{productId}/restock': { quantity: 1 },
  'POST /inventory/{productId}/reservations': { quantity: 1, ttlSeconds: 60 },
  'POST /orders': { userId: 'u', items: [{ productId: 'p', quantity: 1, unitPrice: 1 }] },
  'POST /kv/transactions': { updates: [{ op: 'set', key: 'k', value: 'v' }] },
};

/** `GET /ledgers/{ledger}/accounts/{id}` → `GET /accounts/{id}`; the shard event logs' twin is `GET /events`. */
const shardTwin = (key: string): string | undefined => {
  const twin = key.replace(/ \/(ledgers|shops|namespaces)\/\{\w+\}\//, ' /');
  return twin === key ? undefined : twin.endsWith(' /events') ? 'GET /events' : twin;
};

/** Produced on some routes (a corrupted key per module), not on each: every route shares the one decoder. */
const SOME_ROUTES_ONLY = new Set(['STORE_CORRUPTED']);

/**
 * The whole document is checked on the functions strategy; the transactions and memory strategies answer the
 * same traffic (their adapters build their own error details), checked against the same document.
 */
describe.each<AtomicStrategy>(['functions', 'transactions', 'memory'])('OpenAPI document vs the running service (strategy %s)', (strategy) => {
  const full = strategy === 'functions';
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let app: NestFastifyApplication;
  let doc: OpenApiDocument;
  let api: DocumentedClient;
  const registered: string[] = [];
  let n = 0;
  const uid = (prefix: string) => `${prefix}-${++n}`;

  const call = (key: string, options?: CallOptions) => api.call(key, options);
  async function expectAnswer(key: string, options: CallOptions, status: number, code?: string): Promise<Answer> {
    const answer = await call(key, options);
    expect({ key, status: answer.status, code: answer.body?.code }).toEqual({ key, status, code });
    return answer;
  }

  beforeAll(async () => {
    if (strategy !== 'memory') {
      server = await RedisServer.start();
      client = server.client();
    }
    // PENDING_SWEEP_MS: the service's sweeper releases the lapsing pending transfer soon after its deadline (checked last)
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', MAX_BATCH: '50',
      PENDING_SWEEP_MS: '200', LEDGERS: 'eu', SHOPS: 'eu', KV_NAMESPACES: 'eu' }), { logger: false });
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) if (method !== 'HEAD') registered.push(`${method} ${route.url}`);
    });
    await app.init();
    await fastify.ready();
    const res = await app.inject({ method: 'GET', url: '/docs-json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
    api = new DocumentedClient(app, new ResponseValidator(doc));
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  if (full) it('is a valid OpenAPI 3 document', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      writeFileSync(join(dir, 'openapi.json'), JSON.stringify(doc));
      const out = execFileSync(process.execPath, [join(__dirname, '..', 'support', 'validate-openapi.mjs'), join(dir, 'openapi.json')], { encoding: 'utf8' });
      expect(JSON.parse(out)).toEqual({ valid: true, version: '3.0', errors: [] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // and the validator bites: a document missing a required part is refused
    const broken = mkdtempSync(join(tmpdir(), 'openapi-'));
    try {
      writeFileSync(join(broken, 'openapi.json'), JSON.stringify({ ...doc, info: undefined }));
      const out = execFileSync(process.execPath, [join(__dirname, '..', 'support', 'validate-openapi.mjs'), join(broken, 'openapi.json')], { encoding: 'utf8' });
      expect(JSON.parse(out).valid).toBe(false);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('documents every route the app serves (and nothing else), with the configured limits', () => {
    const served = registered.map((r) => r.replace(/:(\w+)/g, '{$1}')).sort();
    expect(served.length).toBeGreaterThan(20);
    expect(operationsOf(doc).sort()).toEqual(served);
    expect(doc.components?.schemas?.TransferBatchDto.properties.transfers.maxItems).toBe(50); // MAX_BATCH
    const stream = doc.paths['/events'].get.parameters.find((p: { name: string }) => p.name === 'stream');
    expect(stream.schema.enum.sort()).toEqual(['kv', 'ledger', 'shop']);
    for (const key of operationsOf(doc).filter((k) => /^(POST|PUT|DELETE) /.test(k))) {
      const header = api.validator.operation(key).parameters.find((p: { in: string }) => p.in === 'header');
      expect({ key, header: header?.name }).toEqual({ key, header: 'Idempotency-Key' });
    }
  });

  if (full) it('the response validator bites (a control): a wrong body, status or header is reported', () => {
    const v = api.validator;
    const account = { id: 'a', balance: 1, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 1 };
    const ok = { status: 200, body: account, raw: '', headers: { 'content-type': 'application/json' } };
    expect(v.problems('GET /accounts/{id}', ok)).toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, body: { ...account, balance: 1.5 } })).not.toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, body: { ...account, extra: 1 } })).not.toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, body: { ...account, pendingDebits: undefined } })).not.toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, body: { ...account, pendingCredits: -1 } })).not.toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, status: 418 })).not.toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, status: 404, body: { statusCode: 404, code: 'INSUFFICIENT_FUNDS', message: 'x' } })).not.toEqual([]);
    const notFound = { ...ok, status: 404, body: { statusCode: 404, code: 'ACCOUNT_NOT_FOUND', message: 'x' } };
    expect(v.problems('GET /accounts/{id}', notFound)).toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...notFound, body: { ...notFound.body, undocumented: 1 } })).not.toEqual([]);
    const refused = { ...ok, status: 422, body: { statusCode: 422, code: 'INSUFFICIENT_FUNDS', message: 'x', balance: 1, floor: 0 } };
    expect(v.problems('POST /transfers', refused)).toEqual([]);
    expect(v.problems('POST /transfers', { ...refused, body: { ...refused.body, floor: undefined } })).not.toEqual([]);
    // and requests: the body, path, query and header rules
    expect(v.requestProblems('POST /transfers', { body: { from: 'a', to: 'b', amount: 1 }, headers: { 'Idempotency-Key': 'k' } })).toEqual([]);
    expect(v.requestProblems('POST /transfers', { body: { from: 'a', to: 'b', amount: 1, pending: true, timeoutSeconds: 60 } })).toEqual([]);
    expect(v.requestProblems('POST /transfers', { body: { from: 'a', to: 'b', amount: 1, pending: 'yes', timeoutSeconds: 0 } })).toHaveLength(1);
    expect(v.requestProblems('POST /transfers', { body: { from: 'a', to: 'b', amount: 0 } })).not.toEqual([]);
    expect(v.requestProblems('POST /transfers', { body: { from: 'a', to: 'b', amount: 1 }, headers: { 'idempotency-key': '' } })).not.toEqual([]);
    expect(v.requestProblems('GET /accounts/{id}/history', { params: { id: 'a' }, query: { limit: '1000' } })).toEqual([]);
    expect(v.requestProblems('GET /accounts/{id}/history', { params: { id: 'a.b' }, query: { limit: '1001' } })).toHaveLength(2);
    expect(v.problems('GET /accounts/{id}', { ...ok, headers: { ...ok.headers, 'idempotent-replayed': 'true' } })).not.toEqual([]);
    expect(v.problems('POST /transfers', { ...ok, status: 201, body: { id: 'x' }, headers: { 'content-type': 'application/json', 'idempotent-replayed': 'yes' } })).toHaveLength(2);
    // the exposition is text in its own media type; the probes' bodies are terminus' shape
    const text = { status: 200, body: undefined, raw: 'x 1\n', headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } };
    expect(v.problems('GET /metrics', text)).toEqual([]);
    expect(v.problems('GET /metrics', { ...text, headers: { 'content-type': 'text/plain; charset=utf-8' } })).not.toEqual([]);
    expect(v.problems('GET /metrics', { ...text, headers: { 'content-type': 'application/json' } })).not.toEqual([]);
    const live = { ...ok, body: { status: 'ok', info: {}, error: {}, details: {} } };
    expect(v.problems('GET /health/live', live)).toEqual([]);
    expect(v.problems('GET /health/live', { ...live, body: { ...live.body, info: { redis: { status: 'up' } } } })).not.toEqual([]);
    const notReady = { ...ok, status: 503, body: { statusCode: 503, code: 'NOT_READY', status: 'error', info: {}, error: { redis: { status: 'down', message: 'x' } }, details: {} } };
    expect(v.problems('GET /health/ready', notReady)).toEqual([]);
    expect(v.problems('GET /health/ready', { ...notReady, body: { ...notReady.body, code: 'STORE_UNAVAILABLE' } })).not.toEqual([]);
    expect(v.problems('GET /health/ready', { ...notReady, body: { ...notReady.body, error: { redis: { status: 'sideways' } } } })).not.toEqual([]);
    expect(v.problems('GET /health/ready', { ...notReady, body: { statusCode: 503, code: 'SHUTTING_DOWN', message: 'x' } })).toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...notReady, body: { statusCode: 503, code: 'SHUTTING_DOWN', message: 'x' } })).toEqual([]);
    expect(v.problems('GET /accounts/{id}', { ...ok, status: 429, body: { statusCode: 429, code: 'RATE_LIMITED', message: 'x' } })).not.toEqual([]); // no limit configured
  });

  // ------------------------------------------------------------------------------------------------ traffic
  const a = 'acct-a', b = 'acct-b', rich = 'acct-rich';
  const p1 = 'prod-1', pMax = 'prod-max', pBig = 'prod-big', pBack = 'prod-back';
  const user = 'user-1', bigSpender = 'user-big';

  it('accounts and transfers: successes, business errors, replays', async () => {
    await expectAnswer('POST /accounts', { body: { id: a, balance: 10_000 } }, 201);
    await expectAnswer('POST /accounts', { body: { id: b, minBalance: -500 } }, 201);
    await expectAnswer('POST /accounts', { body: { id: rich, balance: MAX - 5 } }, 201);
    await expectAnswer('POST /accounts', { body: { id: a } }, 409, 'ACCOUNT_EXISTS');
    await expectAnswer('GET /accounts/{id}', { params: { id: a } }, 200);
    await expectAnswer('GET /accounts/{id}', { params: { id: 'nobody' } }, 404, 'ACCOUNT_NOT_FOUND');

    await expectAnswer('POST /accounts/{id}/deposit', { params: { id: a }, body: { amount: 100 } }, 200);
    await expectAnswer('POST /accounts/{id}/deposit', { params: { id: 'nobody' }, body: { amount: 100 } }, 404, 'ACCOUNT_NOT_FOUND');
    await expectAnswer('POST /accounts/{id}/deposit', { params: { id: rich }, body: { amount: 10 } }, 422, 'BALANCE_LIMIT_EXCEEDED');
    await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: a }, body: { amount: 100 } }, 200);
    await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: 'nobody' }, body: { amount: 1 } }, 404, 'ACCOUNT_NOT_FOUND');
    await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: a }, body: { amount: 1e9 } }, 422, 'INSUFFICIENT_FUNDS');

    await expectAnswer('POST /transfers', { body: { from: a, to: b, amount: 250 } }, 201);
    await expectAnswer('POST /transfers', { body: { from: 'nobody', to: b, amount: 1 } }, 404, 'ACCOUNT_NOT_FOUND');
    await expectAnswer('POST /transfers', { body: { from: a, to: b, amount: 1e9 } }, 422, 'INSUFFICIENT_FUNDS');
    await expectAnswer('POST /transfers', { body: { from: a, to: rich, amount: 10 } }, 422, 'BALANCE_LIMIT_EXCEEDED');
    const batch = await expectAnswer('POST /transfers/batch', { body: { transfers: [{ from: a, to: b, amount: 1 }, { from: b, to: a, amount: 1, minBalance: -100 }] } }, 201);
    expect(batch.body.transfers).toHaveLength(2);
    expect((await expectAnswer('POST /transfers/batch', { body: { transfers: [{ from: a, to: b, amount: 1 }, { from: 'nobody', to: a, amount: 1 }] } }, 404, 'ACCOUNT_NOT_FOUND')).body.index).toBe(1);
    await expectAnswer('POST /transfers/batch', { body: { transfers: [{ from: a, to: b, amount: 1e9 }] } }, 422, 'INSUFFICIENT_FUNDS');
    await expectAnswer('POST /transfers/batch', { body: { transfers: [{ from: a, to: rich, amount: 10 }] } }, 422, 'BALANCE_LIMIT_EXCEEDED');

    const page = await expectAnswer('GET /accounts/{id}/history', { params: { id: a }, query: { limit: '2' } }, 200);
    expect(page.body.next).toEqual(expect.any(String));
    const rest = await expectAnswer('GET /accounts/{id}/history', { params: { id: a }, query: { limit: '1000', cursor: page.body.next } }, 200);
    expect(rest.body.next).toBeNull();
    await expectAnswer('GET /accounts/{id}/history', { params: { id: 'nobody' } }, 404, 'ACCOUNT_NOT_FOUND');

    // replays: a success and a business error, each answered again with Idempotent-Replayed: true
    const key = uid('key');
    const first = await expectAnswer('POST /transfers', { body: { from: a, to: b, amount: 5 }, headers: { 'idempotency-key': key } }, 201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    const again = await expectAnswer('POST /transfers', { body: { from: a, to: b, amount: 5 }, headers: { 'idempotency-key': key } }, 201);
    expect(again).toMatchObject({ body: first.body, headers: { 'idempotent-replayed': 'true' } });
    const refusedKey = uid('key');
    await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: a }, body: { amount: 1e9 }, headers: { 'idempotency-key': refusedKey } }, 422, 'INSUFFICIENT_FUNDS');
    const replayedRefusal = await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: a }, body: { amount: 1e9 }, headers: { 'idempotency-key': refusedKey } }, 422, 'INSUFFICIENT_FUNDS');
    expect(replayedRefusal.headers['idempotent-replayed']).toBe('true');
  });

  it('two-phase transfers: reserve, read, post (partly or all), void, expire; every refusal, replays', async () => {
    const src = 'acct-pend-src', dst = 'acct-pend-dst';
    await expectAnswer('POST /accounts', { body: { id: src, balance: 1_000 } }, 201);
    await expectAnswer('POST /accounts', { body: { id: dst } }, 201);
    const hold = async (amount: number, timeoutSeconds = 600, headers?: Record<string, string>) =>
      (await expectAnswer('POST /transfers', { body: { from: src, to: dst, amount, pending: true, timeoutSeconds }, headers }, 201)).body;
    const transfer = async (id: string) => (await expectAnswer('GET /transfers/{id}', { params: { id } }, 200)).body;
    // reserved for 1 s: it lapses while the rest runs (checked last)
    const lapsing = await hold(10, 1);
    const p = await hold(100);
    expect(p).toMatchObject({ from: { id: src, balance: 1_000 }, to: { id: dst, balance: 0 }, amount: 100, status: 'pending', expiresAt: expect.any(String) });
    const { body: account } = await expectAnswer('GET /accounts/{id}', { params: { id: src } }, 200);
    expect(account).toMatchObject({ balance: 1_000, available: account.balance - account.pendingDebits });
    expect([100, 110]).toContain(account.pendingDebits); // the lapsing one may be released already
    expect((await expectAnswer('GET /accounts/{id}', { params: { id: dst } }, 200)).body).toMatchObject({ balance: 0, available: 0 });
    expect(await transfer(p.id)).toEqual({ id: p.id, from: src, to: dst, amount: 100, status: 'pending', createdAt: p.at, expiresAt: p.expiresAt });

    // unknown ids (a plain transfer's included)
    const plain = (await expectAnswer('POST /transfers', { body: { from: src, to: dst, amount: 1 } }, 201)).body;
    await expectAnswer('GET /transfers/{id}', { params: { id: plain.id } }, 404, 'PENDING_TRANSFER_NOT_FOUND');
    await expectAnswer('POST /transfers/{id}/post', { params: { id: 'nothing' }, body: {} }, 404, 'PENDING_TRANSFER_NOT_FOUND');
    await expectAnswer('POST /transfers/{id}/void', { params: { id: 'nothing' } }, 404, 'PENDING_TRANSFER_NOT_FOUND');
    // a reservation counts against what the source may spend: INSUFFICIENT_FUNDS carries `available`
    expect((await expectAnswer('POST /transfers', { body: { from: src, to: dst, amount: 1_000, pending: true, timeoutSeconds: 60 } }, 422,
      'INSUFFICIENT_FUNDS')).body).toMatchObject({ account: src, balance: 999, floor: 0, available: expect.any(Number) });
    expect((await expectAnswer('POST /accounts/{id}/withdraw', { params: { id: src }, body: { amount: 950 } }, 422, 'INSUFFICIENT_FUNDS')).body)
      .toMatchObject({ balance: 999, floor: 0 });

    // post part of it (the rest is released), then every second resolution is refused
    expect((await expectAnswer('POST /transfers/{id}/post', { params: { id: p.id }, body: { amount: 101 } }, 422, 'PENDING_TRANSFER_AMOUNT_EXCEEDED')).body)
      .toMatchObject({ pending: 100 });
    const key = uid('post');
    const posted = await expectAnswer('POST /transfers/{id}/post', { params: { id: p.id }, body: { amount: 60 }, headers: { 'idempotency-key': key } }, 200);
    expect(posted.body).toMatchObject({ id: p.id, status: 'posted', amount: 100, postedAmount: 60, createdAt: p.at, resolvedAt: expect.any(String) });
    const replayed = await expectAnswer('POST /transfers/{id}/post', { params: { id: p.id }, body: { amount: 60 }, headers: { 'idempotency-key': key } }, 200);
    expect(replayed).toMatchObject({ body: posted.body, headers: { 'idempotent-replayed': 'true' } });
    expect(await transfer(p.id)).toMatchObject({ status: 'posted', postedAmount: 60, resolvedAt: posted.body.resolvedAt });
    await expectAnswer('POST /transfers/{id}/post', { params: { id: p.id }, body: {} }, 409, 'PENDING_TRANSFER_ALREADY_POSTED');
    await expectAnswer('POST /transfers/{id}/void', { params: { id: p.id } }, 409, 'PENDING_TRANSFER_ALREADY_POSTED');
    // post all of it (no amount)
    const all = await hold(5);
    expect((await expectAnswer('POST /transfers/{id}/post', { params: { id: all.id }, body: {} }, 200)).body).toMatchObject({ status: 'posted', postedAmount: 5 });

    // void: the whole reservation released, nothing moved; then refused, a replayed refusal marked
    const v = await hold(50);
    expect((await expectAnswer('POST /transfers/{id}/void', { params: { id: v.id } }, 200)).body).toMatchObject({ id: v.id, status: 'voided', amount: 50 });
    const voidKey = uid('void');
    await expectAnswer('POST /transfers/{id}/void', { params: { id: v.id }, headers: { 'idempotency-key': voidKey } }, 409, 'PENDING_TRANSFER_ALREADY_VOIDED');
    expect((await expectAnswer('POST /transfers/{id}/void', { params: { id: v.id }, headers: { 'idempotency-key': voidKey } }, 409,
      'PENDING_TRANSFER_ALREADY_VOIDED')).headers['idempotent-replayed']).toBe('true');
    await expectAnswer('POST /transfers/{id}/post', { params: { id: v.id }, body: { amount: 1 } }, 409, 'PENDING_TRANSFER_ALREADY_VOIDED');
    expect(await transfer(v.id)).toMatchObject({ status: 'voided', resolvedAt: expect.any(String) });

    // a batch may reserve too: its receipts say which items are pending
    const batch = await expectAnswer('POST /transfers/batch', { body: { transfers: [{ from: src, to: dst, amount: 20, pending: true, timeoutSeconds: 600 },
      { from: src, to: dst, amount: 1 }] } }, 201);
    expect(batch.body.transfers.map((t: { status?: string }) => t.status ?? 'posted')).toEqual(['pending', 'posted']);
    await expectAnswer('POST /transfers/{id}/void', { params: { id: batch.body.transfers[0].id } }, 200);

    // the 1 s reservation has lapsed by now, or will shortly (server clock): `expired`, neither postable nor voidable
    const deadline = Date.now() + 20_000;
    while ((await transfer(lapsing.id)).status !== 'expired') {
      if (Date.now() > deadline) throw new Error(`pending transfer ${lapsing.id} never showed expired`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectAnswer('POST /transfers/{id}/post', { params: { id: lapsing.id }, body: {} }, 409, 'PENDING_TRANSFER_EXPIRED');
    await expectAnswer('POST /transfers/{id}/void', { params: { id: lapsing.id } }, 409, 'PENDING_TRANSFER_EXPIRED');
    // and the sweeper releases it by itself: then the histories hold every kind
    while ((await call('GET /accounts/{id}', { params: { id: src } })).body.pendingDebits !== 0) {
      if (Date.now() > deadline) throw new Error(`the sweeper never released ${lapsing.id}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await transfer(lapsing.id)).toMatchObject({ status: 'expired', resolvedAt: expect.any(String) });
    expect((await expectAnswer('GET /accounts/{id}', { params: { id: src } }, 200)).body)
      .toEqual({ id: src, balance: 1_000 - 1 - 60 - 5 - 1, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 1_000 - 1 - 60 - 5 - 1 });
    const kinds = async (id: string) =>
      new Set((await expectAnswer('GET /accounts/{id}/history', { params: { id }, query: { limit: '1000' } }, 200)).body.entries.map((e: { type: string }) => e.type));
    expect([...await kinds(src)].sort()).toEqual(['expire_out', 'pending_out', 'post_out', 'transfer_out', 'void_out']);
    expect([...await kinds(dst)].sort()).toEqual(['expire_in', 'pending_in', 'post_in', 'transfer_in', 'void_in']);
  }, 60_000);

  it('inventory and orders: successes, business errors, the claim queue', async () => {
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: p1 }, body: { stock: 10 } }, 200);
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: pMax }, body: { stock: MAX - 1 } }, 200);
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: pBig }, body: { stock: 10 } }, 200);
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: pBack }, body: { stock: 5 } }, 200);
    await expectAnswer('POST /inventory/{productId}/restock', { params: { productId: p1 }, body: { quantity: 5 } }, 200);
    await expectAnswer('POST /inventory/{productId}/restock', { params: { productId: 'nothing' }, body: { quantity: 5 } }, 404, 'PRODUCT_NOT_FOUND');
    await expectAnswer('POST /inventory/{productId}/restock', { params: { productId: pMax }, body: { quantity: 10 } }, 422, 'STOCK_LIMIT_EXCEEDED');
    await expectAnswer('GET /inventory/{productId}', { params: { productId: p1 } }, 200);
    await expectAnswer('GET /inventory/{productId}', { params: { productId: 'nothing' } }, 404, 'PRODUCT_NOT_FOUND');
    expect((await expectAnswer('GET /inventory', { query: { below: '100', limit: '10' } }, 200)).body.products.length).toBeGreaterThan(0);

    const line = (productId: string, quantity = 1, unitPrice = 250) => ({ productId, quantity, unitPrice });
    const o1 = (await expectAnswer('POST /orders', { body: { userId: user, items: [line(p1)] } }, 201)).body;
    await expectAnswer('POST /orders', { body: { id: o1.id, userId: user, items: [line(p1)] } }, 409, 'ORDER_EXISTS');
    await expectAnswer('POST /orders', { body: { userId: user, items: [line('nothing')] } }, 404, 'PRODUCT_NOT_FOUND');
    expect((await expectAnswer('POST /orders', { body: { userId: user, items: [line(p1), line(pBig, 1000)] } }, 422, 'OUT_OF_STOCK')).body)
      .toMatchObject({ index: 1, productId: pBig });
    await expectAnswer('POST /orders', { body: { userId: bigSpender, items: [line(pBig, 1, MAX)] } }, 201);
    await expectAnswer('POST /orders', { body: { userId: bigSpender, items: [line(pBig, 1, 1)] } }, 422, 'STATS_LIMIT_EXCEEDED');
    await expectAnswer('GET /orders/{id}', { params: { id: o1.id } }, 200);
    await expectAnswer('GET /orders/{id}', { params: { id: 'nothing' } }, 404, 'ORDER_NOT_FOUND');

    // claim everything pending (o1 first: oldest first), then the queue is empty: 204
    const claimed = (await expectAnswer('POST /orders/claim', {}, 200)).body;
    expect(claimed).toMatchObject({ id: o1.id, status: 'processing' });
    while ((await call('POST /orders/claim')).status === 200) { /* drain */ }
    await expectAnswer('POST /orders/claim', {}, 204);
    await expectAnswer('POST /orders/{id}/complete', { params: { id: o1.id } }, 200);
    await expectAnswer('POST /orders/{id}/complete', { params: { id: o1.id } }, 409, 'INVALID_TRANSITION');
    await expectAnswer('POST /orders/{id}/complete', { params: { id: 'nothing' } }, 404, 'ORDER_NOT_FOUND');
    await expectAnswer('POST /orders/{id}/cancel', { params: { id: o1.id } }, 409, 'ORDER_NOT_CANCELLABLE');
    await expectAnswer('POST /orders/{id}/cancel', { params: { id: 'nothing' } }, 404, 'ORDER_NOT_FOUND');
    const o2 = (await expectAnswer('POST /orders', { body: { userId: user, items: [line(p1, 2)] } }, 201)).body;
    expect((await expectAnswer('POST /orders/{id}/cancel', { params: { id: o2.id } }, 200)).body.status).toBe('cancelled');
    // giving stock back past the safe-integer range is refused
    const o3 = (await expectAnswer('POST /orders', { body: { userId: user, items: [line(pBack, 2)] } }, 201)).body;
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: pBack }, body: { stock: MAX - 1 } }, 200);
    await expectAnswer('POST /orders/{id}/cancel', { params: { id: o3.id } }, 422, 'STOCK_LIMIT_EXCEEDED');

    expect((await expectAnswer('GET /users/{userId}/orders', { params: { userId: user } }, 200)).body.orders.length).toBe(3);
    expect((await expectAnswer('GET /users/{userId}/stats', { params: { userId: user } }, 200)).body).toMatchObject({ totalOrders: 2 });
    await expectAnswer('GET /users/{userId}/stats', { params: { userId: 'nobody' } }, 200);
  });

  it('stock reservations: reserve, read, release, consume in an order, expire; every refusal', async () => {
    const pr = 'prod-res', pq = 'prod-res-q', pl = 'prod-res-lim', buyer = 'user-res';
    for (const [productId, stock] of [[pr, 10], [pq, 10], [pl, 5]] as const) {
      await expectAnswer('PUT /inventory/{productId}', { params: { productId }, body: { stock } }, 200);
    }
    const reserve = async (productId: string, quantity: number, ttlSeconds = 600, headers?: Record<string, string>) =>
      (await expectAnswer('POST /inventory/{productId}/reservations', { params: { productId }, body: { quantity, ttlSeconds }, headers }, 201)).body;
    // held for 1 s: it lapses while the rest runs (checked last)
    const lapsing = await reserve(pr, 1, 1);
    const r = await reserve(pr, 3);
    expect(r).toMatchObject({ productId: pr, quantity: 3, status: 'held' });
    expect((await expectAnswer('GET /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: r.id } }, 200)).body).toEqual(r);
    const { body: availability } = await expectAnswer('GET /inventory/{productId}/availability', { params: { productId: pr } }, 200);
    expect(availability.available + availability.held).toBe(10); // the lapsing hold may be swept back already
    await expectAnswer('GET /inventory/{productId}/availability', { params: { productId: 'nothing' } }, 404, 'PRODUCT_NOT_FOUND');
    await expectAnswer('GET /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: 'nothing' } }, 404, 'RESERVATION_NOT_FOUND');
    await expectAnswer('GET /inventory/{productId}/reservations/{id}', { params: { productId: pq, id: r.id } }, 409, 'RESERVATION_PRODUCT_MISMATCH');
    await expectAnswer('POST /inventory/{productId}/reservations', { params: { productId: 'nothing' }, body: { quantity: 1, ttlSeconds: 60 } }, 404, 'PRODUCT_NOT_FOUND');
    await expectAnswer('POST /inventory/{productId}/reservations', { params: { productId: pr }, body: { quantity: 1000, ttlSeconds: 60 } }, 422, 'OUT_OF_STOCK');
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: 'nothing' } }, 404, 'RESERVATION_NOT_FOUND');
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pq, id: r.id } }, 409, 'RESERVATION_PRODUCT_MISMATCH');
    expect((await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: r.id } }, 200)).body)
      .toEqual({ ...r, status: 'released' });
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: r.id } }, 409, 'RESERVATION_RELEASED');

    // orders consuming reservations (a line names one: exactly its product and quantity)
    const line = (productId: string, quantity: number, reservationId: string) => ({ productId, quantity, unitPrice: 100, reservationId });
    const c = await reserve(pr, 2);
    expect((await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 3, c.id)] } }, 422, 'RESERVATION_QUANTITY_MISMATCH')).body)
      .toMatchObject({ index: 0, reservationId: c.id, requested: 3, reserved: 2 });
    await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pq, 2, c.id)] } }, 409, 'RESERVATION_PRODUCT_MISMATCH');
    await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 2, 'nothing')] } }, 404, 'RESERVATION_NOT_FOUND');
    await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 3, r.id)] } }, 409, 'RESERVATION_RELEASED');
    const order = (await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 2, c.id)] } }, 201)).body;
    expect((await expectAnswer('GET /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: c.id } }, 200)).body)
      .toEqual({ ...c, status: 'consumed', orderId: order.id });
    await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 2, c.id)] } }, 409, 'RESERVATION_CONSUMED');
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: c.id } }, 409, 'RESERVATION_CONSUMED');

    // giving held units back past the safe-integer range is refused
    const l = await reserve(pl, 2);
    await expectAnswer('PUT /inventory/{productId}', { params: { productId: pl }, body: { stock: MAX - 1 } }, 200);
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pl, id: l.id } }, 422, 'STOCK_LIMIT_EXCEEDED');

    // a keyed reservation whose idempotency record has expired (deleted here, as its TTL would): the id is taken
    if (client) {
      const records = () => client!.keys('*:shop-idem:*');
      const before = new Set(await records());
      const key = uid('hold');
      const held = await reserve(pq, 1, 600, { 'idempotency-key': key });
      const added = (await records()).filter((k) => !before.has(k));
      expect(added).toHaveLength(1);
      await client.del(added[0]);
      expect((await expectAnswer('POST /inventory/{productId}/reservations', { params: { productId: pq }, body: { quantity: 1, ttlSeconds: 600 },
        headers: { 'idempotency-key': key } }, 409, 'RESERVATION_EXISTS')).body).toMatchObject({ reservationId: held.id });
    }

    // the 1 s hold has lapsed by now, or will shortly (server clock): it shows `expired` and can be neither released nor consumed
    const deadline = Date.now() + 15_000;
    while ((await call('GET /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: lapsing.id } })).body.status !== 'expired') {
      if (Date.now() > deadline) throw new Error(`reservation ${lapsing.id} never showed expired`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await expectAnswer('DELETE /inventory/{productId}/reservations/{id}', { params: { productId: pr, id: lapsing.id } }, 409, 'RESERVATION_EXPIRED');
    await expectAnswer('POST /orders', { body: { userId: buyer, items: [line(pr, 1, lapsing.id)] } }, 409, 'RESERVATION_EXPIRED');
  }, 60_000);

  it('kv, events and health: successes and errors', async () => {
    await expectAnswer('POST /kv/transactions', { body: { updates: [{ op: 'set', key: 's', value: 'v1' }, { op: 'hset', key: 'h', field: 'f', value: 7 }, { op: 'set', key: 't', value: 'abc' }, { op: 'set', key: 'm', value: MAX }] } }, 200);
    await expectAnswer('POST /kv/transactions', {
      body: { conditions: [{ key: 's', op: 'eq', value: 'v1' }, { key: 'h', field: 'f', op: 'gte', value: '7' }, { key: 'zz', op: 'absent' }],
        updates: [{ op: 'expire', key: 's', seconds: 600 }, { op: 'hincrby', key: 'h', field: 'f', by: 1 }, { op: 'incrby', key: 'n', by: 2 }, { op: 'del', key: 'zz' }, { op: 'hdel', key: 'h', field: 'g' }] },
    }, 200);
    expect((await expectAnswer('POST /kv/transactions', { body: { conditions: [{ key: 's', op: 'ne', value: 'v1' }], updates: [{ op: 'del', key: 's' }] } }, 409, 'CONDITION_FAILED')).body.index).toBe(0);
    await expectAnswer('POST /kv/transactions', { body: { updates: [{ op: 'incrby', key: 'h', by: 1 }] } }, 422, 'WRONG_TYPE');
    await expectAnswer('POST /kv/transactions', { body: { updates: [{ op: 'incrby', key: 't', by: 1 }] } }, 422, 'NOT_AN_INTEGER');
    await expectAnswer('POST /kv/transactions', { body: { updates: [{ op: 'incrby', key: 'm', by: 1 }] } }, 422, 'INTEGER_OVERFLOW');
    expect((await expectAnswer('GET /kv/{key}', { params: { key: 's' } }, 200)).body).toMatchObject({ type: 'string', ttlSeconds: expect.any(Number) });
    expect((await expectAnswer('GET /kv/{key}', { params: { key: 'h' } }, 200)).body).toMatchObject({ type: 'hash', value: { f: '8' } });
    await expectAnswer('GET /kv/{key}', { params: { key: 'nothing' } }, 404, 'KEY_NOT_FOUND');

    const events = await expectAnswer('GET /events', { query: { stream: 'ledger', limit: '2' } }, 200);
    expect(events.body.next).toEqual(expect.any(String));
    await expectAnswer('GET /events', { query: { stream: 'ledger', after: events.body.next } }, 200);
    await expectAnswer('GET /events', { query: { stream: 'shop' } }, 200);
    await expectAnswer('GET /events', { query: { stream: 'kv' } }, 200);
    await expectAnswer('GET /events', { query: { stream: 'nothing' } }, 400, 'VALIDATION_FAILED');
    await expectAnswer('GET /health', {}, 200);
  });

  it('probes and metrics: live, ready (and not ready while a library is missing), the Prometheus exposition', async () => {
    expect((await expectAnswer('GET /health/live', {}, 200)).body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    expect((await expectAnswer('GET /health/ready', {}, 200)).body).toMatchObject({ status: 'ok', info: { shutdown: { status: 'up' } } });
    const metrics = await expectAnswer('GET /metrics', {}, 200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.raw).toContain('redis_atomic_operations_total');
    if (strategy === 'functions') {
      // the server lost its libraries: not ready (the probe only looks) until the requests that need them reload them
      await client!.function('FLUSH');
      const notReady = await expectAnswer('GET /health/ready', {}, 503, 'NOT_READY');
      // kv: no background sweeper calls it (the pending-transfer sweeper, every 200 ms here, may reload accounts first)
      expect(notReady.body.error.functions.libraries.kv).toEqual({ version: null, expected: expect.any(String) });
      await expectAnswer('GET /accounts/{id}', { params: { id: 'nobody' } }, 404, 'ACCOUNT_NOT_FOUND');
      await expectAnswer('GET /inventory/{productId}', { params: { productId: 'nothing' } }, 404, 'PRODUCT_NOT_FOUND');
      await expectAnswer('GET /orders/{id}', { params: { id: 'none' } }, 404, 'ORDER_NOT_FOUND');
      await expectAnswer('GET /kv/{key}', { params: { key: 'nothing' } }, 404, 'KEY_NOT_FOUND');
      await expectAnswer('GET /health/ready', {}, 200);
    }
  });

  /** One request per route that its checks refuse (400 before Redis is asked). */
  const invalid: Record<string, CallOptions> = {
    'POST /accounts': { body: { id: 'not an id' } },
    'GET /accounts/{id}': { params: { id: 'not.an.id' } },
    'POST /accounts/{id}/deposit': { params: { id: a }, body: { amount: 0 } },
    'POST /accounts/{id}/withdraw': { params: { id: a }, body: { amount: 1.5 } },
    'GET /accounts/{id}/history': { params: { id: a }, query: { limit: '0' } },
    'POST /transfers': { body: { from: a, to: a, amount: 1 } },
    'POST /transfers/batch': { body: { transfers: [] } },
    'GET /transfers/{id}': { params: { id: 'not.an.id' } },
    'POST /transfers/{id}/post': { params: { id: 'pending-x' }, body: { amount: 0 } },
    'POST /transfers/{id}/void': { params: { id: 'not.an.id' } },
    'PUT /inventory/{productId}': { params: { productId: p1 }, body: { stock: -1 } },
    'POST /inventory/{productId}/restock': { params: { productId: p1 }, body: { quantity: '10' } },
    'GET /inventory/{productId}': { params: { productId: 'not.an.id' } },
    'GET /inventory': { query: { limit: '10' } },
    'POST /inventory/{productId}/reservations': { params: { productId: p1 }, body: { quantity: 1, ttlSeconds: 0 } },
    'GET /inventory/{productId}/reservations/{id}': { params: { productId: p1, id: 'not.an.id' } },
    'DELETE /inventory/{productId}/reservations/{id}': { params: { productId: 'not.an.id', id: 'res-x' } },
    'GET /inventory/{productId}/availability': { params: { productId: 'not.an.id' } },
    'POST /orders': { body: { userId: user, items: [] } },
    'POST /orders/claim': { headers: { 'idempotency-key': 'k'.repeat(256) } },
    'GET /orders/{id}': { params: { id: 'not.an.id' } },
    'POST /orders/{id}/cancel': { params: { id: 'not.an.id' } },
    'POST /orders/{id}/complete': { params: { id: 'not.an.id' } },
    'GET /users/{userId}/orders': { params: { userId: 'not.an.id' } },
    'GET /users/{userId}/stats': { params: { userId: 'not.an.id' } },
    'GET /events': { query: { stream: 'ledger', limit: '0' } },
    'POST /kv/transactions': { body: { updates: [] } },
    'GET /kv/{key}': { params: { key: 'not.an.id' } },
  };

  it('every route refuses bad input with 400 VALIDATION_FAILED (and malformed JSON, unknown fields too)', async () => {
    for (const [key, options] of Object.entries(invalid)) await expectAnswer(key, options, 400, 'VALIDATION_FAILED');
    await expectAnswer('POST /transfers', { raw: { payload: '{"from":', contentType: 'application/json' } }, 400, 'VALIDATION_FAILED');
    await expectAnswer('POST /transfers', { body: { from: a, to: b, amount: 1, note: 'x' } }, 400, 'VALIDATION_FAILED');
  });

  /** Two different requests per write route: the second under the first's key is IDEMPOTENCY_KEY_MISMATCH. */
  const differentRequests: Record<string, [CallOptions, CallOptions]> = {
    'POST /accounts': [{ body: { id: 'acct-k1' } }, { body: { id: 'acct-k2' } }],
    'POST /accounts/{id}/deposit': [{ params: { id: a }, body: { amount: 1 } }, { params: { id: a }, body: { amount: 2 } }],
    'POST /accounts/{id}/withdraw': [{ params: { id: a }, body: { amount: 1 } }, { params: { id: b }, body: { amount: 1 } }],
    'POST /transfers': [{ body: { from: a, to: b, amount: 1 } }, { body: { from: a, to: b, amount: 2 } }],
    'POST /transfers/batch': [{ body: { transfers: [{ from: a, to: b, amount: 1 }] } }, { body: { transfers: [{ from: b, to: a, amount: 1 }] } }],
    'POST /transfers/{id}/post': [{ params: { id: 'pending-x' }, body: { amount: 1 } }, { params: { id: 'pending-x' }, body: { amount: 2 } }],
    'POST /transfers/{id}/void': [{ params: { id: 'pending-x' } }, { params: { id: 'pending-y' } }],
    'PUT /inventory/{productId}': [{ params: { productId: p1 }, body: { stock: 20 } }, { params: { productId: p1 }, body: { stock: 21 } }],
    'POST /inventory/{productId}/restock': [{ params: { productId: p1 }, body: { quantity: 1 } }, { params: { productId: p1 }, body: { quantity: 2 } }],
    'POST /inventory/{productId}/reservations': [{ params: { productId: p1 }, body: { quantity: 1, ttlSeconds: 60 } }, { params: { productId: p1 }, body: { quantity: 2, ttlSeconds: 60 } }],
    'DELETE /inventory/{productId}/reservations/{id}': [{ params: { productId: p1, id: 'res-x' } }, { params: { productId: p1, id: 'res-y' } }],
    'POST /orders': [{ body: { userId: user, items: [{ productId: p1, quantity: 1, unitPrice: 1 }] } }, { body: { userId: user, items: [{ productId: p1, quantity: 2, unitPrice: 1 }] } }],
    'POST /orders/claim': [{}, {}], // the first request under the key is another route's (below)
    'POST /orders/{id}/cancel': [{ params: { id: 'order-x' } }, { params: { id: 'order-y' } }],
    'POST /orders/{id}/complete': [{ params: { id: 'order-x' } }, { params: { id: 'order-y' } }],
    'POST /kv/transactions': [{ body: { updates: [{ op: 'set', key: 'k', value: 1 }] } }, { body: { updates: [{ op: 'set', key: 'k', value: 2 }] } }],
  };

  it('every write route answers 422 IDEMPOTENCY_KEY_MISMATCH to another request under a used key', async () => {
    for (const [key, [first, second]] of Object.entries(differentRequests)) {
      const idempotencyKey = uid('mismatch');
      const firstKey = key === 'POST /orders/claim' ? 'POST /orders/{id}/cancel' : key;
      const firstOptions = key === 'POST /orders/claim' ? differentRequests['POST /orders/{id}/cancel'][0] : first;
      await call(firstKey, { ...firstOptions, headers: { 'idempotency-key': idempotencyKey } });
      await expectAnswer(key, { ...second, headers: { 'idempotency-key': idempotencyKey } }, 422, 'IDEMPOTENCY_KEY_MISMATCH');
    }
  });

  it('every write route answers 415 to a body that is not JSON and 413 to one past the body limit', async () => {
    const huge = JSON.stringify({ pad: 'x'.repeat(1024 * 1024 + 10) });
    for (const [key, [options]] of Object.entries(differentRequests)) {
      const { params } = options;
      await expectAnswer(key, { params, raw: { payload: '<transfer/>', contentType: 'application/xml' } }, 415, 'UNSUPPORTED_MEDIA_TYPE');
      await expectAnswer(key, { params, raw: { payload: huge, contentType: 'application/json' } }, 413, 'PAYLOAD_TOO_LARGE');
    }
  });

  if (full) it('a key our code never wrote: 500 STORE_CORRUPTED in a module\'s keys, 422 WRONG_TYPE in the kv namespace', async () => {
    const keyOf = async (pattern: string) => {
      const [found] = await client!.keys(pattern);
      expect(found).toEqual(expect.any(String));
      return found;
    };
    await expectAnswer('POST /accounts', { body: { id: 'acct-corrupt' } }, 201);
    const account = await keyOf('*:acct:acct-corrupt');
    await client!.del(account);
    await client!.set(account, 'not a hash');
    await expectAnswer('GET /accounts/{id}', { params: { id: 'acct-corrupt' } }, 500, 'STORE_CORRUPTED');
    await expectAnswer('POST /accounts/{id}/deposit', { params: { id: 'acct-corrupt' }, body: { amount: 1 } }, 500, 'STORE_CORRUPTED');
    await expectAnswer('POST /kv/transactions', { body: { updates: [{ op: 'set', key: 'corrupt', value: 'x' }] } }, 200);
    const kvKey = await keyOf('*:kv:corrupt');
    await client!.del(kvKey);
    await client!.rpush(kvKey, 'a list');
    expect((await expectAnswer('GET /kv/{key}', { params: { key: 'corrupt' } }, 422, 'WRONG_TYPE')).body).toMatchObject({ key: 'corrupt', type: 'list' });
  });

  it('the shard routes: /ledgers/eu/…, /shops/eu/…, /namespaces/eu/… serve their own shard; an unlisted one is SHARD_NOT_FOUND', async () => {
    const eu = (key: string, options: CallOptions = {}) => ({ ...options, params: { ledger: 'eu', shop: 'eu', namespace: 'eu', ...options.params } });
    const shardCall = (key: string, options: CallOptions, status: number, code?: string) => expectAnswer(key, eu(key, options), status, code);
    // accounts and transfers of ledger eu: the default ledger does not see them
    await shardCall('POST /ledgers/{ledger}/accounts', { body: { id: 'eu-a', balance: 100 } }, 201);
    await shardCall('POST /ledgers/{ledger}/accounts', { body: { id: 'eu-b' } }, 201);
    await expectAnswer('GET /accounts/{id}', { params: { id: 'eu-a' } }, 404, 'ACCOUNT_NOT_FOUND');
    await shardCall('POST /ledgers/{ledger}/accounts/{id}/deposit', { params: { id: 'eu-a' }, body: { amount: 10 } }, 200);
    await shardCall('POST /ledgers/{ledger}/accounts/{id}/withdraw', { params: { id: 'eu-a' }, body: { amount: 10 } }, 200);
    await shardCall('POST /ledgers/{ledger}/transfers', { body: { from: 'eu-a', to: 'eu-b', amount: 30 } }, 201);
    await shardCall('POST /ledgers/{ledger}/transfers/batch', { body: { transfers: [{ from: 'eu-b', to: 'eu-a', amount: 5 }] } }, 201);
    const held = (await shardCall('POST /ledgers/{ledger}/transfers', { body: { from: 'eu-a', to: 'eu-b', amount: 7, pending: true, timeoutSeconds: 600 } }, 201)).body;
    await shardCall('GET /ledgers/{ledger}/transfers/{id}', { params: { id: held.id } }, 200);
    await expectAnswer('GET /transfers/{id}', { params: { id: held.id } }, 404, 'PENDING_TRANSFER_NOT_FOUND');
    await shardCall('POST /ledgers/{ledger}/transfers/{id}/post', { params: { id: held.id }, body: {} }, 200);
    const voided = (await shardCall('POST /ledgers/{ledger}/transfers', { body: { from: 'eu-a', to: 'eu-b', amount: 1, pending: true, timeoutSeconds: 600 } }, 201)).body;
    await shardCall('POST /ledgers/{ledger}/transfers/{id}/void', { params: { id: voided.id } }, 200);
    expect((await shardCall('GET /ledgers/{ledger}/accounts/{id}', { params: { id: 'eu-a' } }, 200)).body).toMatchObject({ balance: 68, pendingDebits: 0 });
    expect((await shardCall('GET /ledgers/{ledger}/accounts/{id}/history', { params: { id: 'eu-a' } }, 200)).body.entries.length).toBeGreaterThan(4);
    const ledgerEvents = (await shardCall('GET /ledgers/{ledger}/events', {}, 200)).body.events as { type: string; data: { account?: string } }[];
    expect(ledgerEvents.filter((e) => e.type === 'account.opened' && e.data.account === 'eu-a').length).toBe(1); // in this ledger's own log
    // the shop eu: its inventory and orders together
    await shardCall('PUT /shops/{shop}/inventory/{productId}', { params: { productId: 'eu-p' }, body: { stock: 5 } }, 200);
    await expectAnswer('GET /inventory/{productId}', { params: { productId: 'eu-p' } }, 404, 'PRODUCT_NOT_FOUND');
    await shardCall('POST /shops/{shop}/inventory/{productId}/restock', { params: { productId: 'eu-p' }, body: { quantity: 1 } }, 200);
    await shardCall('GET /shops/{shop}/inventory/{productId}', { params: { productId: 'eu-p' } }, 200);
    await shardCall('GET /shops/{shop}/inventory/{productId}/availability', { params: { productId: 'eu-p' } }, 200);
    const r = (await shardCall('POST /shops/{shop}/inventory/{productId}/reservations', { params: { productId: 'eu-p' }, body: { quantity: 1, ttlSeconds: 60 } }, 201)).body;
    await shardCall('GET /shops/{shop}/inventory/{productId}/reservations/{id}', { params: { productId: 'eu-p', id: r.id } }, 200);
    await shardCall('DELETE /shops/{shop}/inventory/{productId}/reservations/{id}', { params: { productId: 'eu-p', id: r.id } }, 200);
    expect((await shardCall('GET /shops/{shop}/inventory', { query: { below: '100' } }, 200)).body.products).toEqual([{ productId: 'eu-p', stock: 6 }]);
    const order = (await shardCall('POST /shops/{shop}/orders', { body: { userId: 'eu-u', items: [{ productId: 'eu-p', quantity: 2, unitPrice: 10 }] } }, 201)).body;
    await shardCall('GET /shops/{shop}/orders/{id}', { params: { id: order.id } }, 200);
    expect((await shardCall('POST /shops/{shop}/orders/claim', {}, 200)).body).toMatchObject({ id: order.id });
    await shardCall('POST /shops/{shop}/orders/{id}/complete', { params: { id: order.id } }, 200);
    await shardCall('POST /shops/{shop}/orders/{id}/cancel', { params: { id: order.id } }, 409, 'ORDER_NOT_CANCELLABLE');
    expect((await shardCall('GET /shops/{shop}/users/{userId}/orders', { params: { userId: 'eu-u' } }, 200)).body.orders).toHaveLength(1);
    expect((await shardCall('GET /shops/{shop}/users/{userId}/stats', { params: { userId: 'eu-u' } }, 200)).body).toMatchObject({ totalOrders: 1 });
    await shardCall('GET /shops/{shop}/events', {}, 200);
    // the kv namespace eu
    await shardCall('POST /namespaces/{namespace}/kv/transactions', { body: { updates: [{ op: 'set', key: 'eu-k', value: 'v' }] } }, 200);
    await shardCall('GET /namespaces/{namespace}/kv/{key}', { params: { key: 'eu-k' } }, 200);
    await expectAnswer('GET /kv/{key}', { params: { key: 'eu-k' } }, 404, 'KEY_NOT_FOUND');
    await shardCall('GET /namespaces/{namespace}/events', {}, 200);
    // every shard route: an unlisted shard is 404 SHARD_NOT_FOUND (nothing asked of Redis), a bad name 400; the
    // event logs read any shard
    for (const key of operationsOf(doc).filter((k) => /\{(ledger|shop|namespace)\}/.test(k))) {
      const params = { ...Object.fromEntries([...key.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name, 'x'])), ledger: 'nope', shop: 'nope', namespace: 'nope' };
      const body = VALID_BODIES[key.replace(/ \/(ledgers|shops|namespaces)\/\{\w+\}\//, ' /')];
      if (key.endsWith('/events')) await expectAnswer(key, { params }, 200);
      else expect((await expectAnswer(key, { params, body }, 404, 'SHARD_NOT_FOUND')).body).toMatchObject({ field: expect.stringMatching(/^(ledger|shop|namespace)$/) });
      await expectAnswer(key, { params: { ...params, ledger: 'b%40d', shop: 'b%40d', namespace: 'b%40d' }, body }, 400, 'VALIDATION_FAILED');
    }
  });

  if (full) it('with Redis gone every route answers 503 (STORE_UNAVAILABLE; health: unavailable)', async () => {
    await server!.stop();
    // wait until the service has noticed (health polls Redis itself)
    for (let i = 0; i < 200 && (await app.inject({ method: 'GET', url: '/health' })).statusCode !== 503; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await expectAnswer('GET /health', {}, 503);
    expect((await expectAnswer('GET /health/ready', {}, 503, 'NOT_READY')).body.error.redis).toMatchObject({ status: 'down', message: expect.any(String) });
    const samples: Record<string, CallOptions> = {
      ...Object.fromEntries(Object.entries(differentRequests).map(([k, [first]]) => [k, first])),
      'GET /accounts/{id}': { params: { id: a } },
      'GET /accounts/{id}/history': { params: { id: a } },
      'GET /transfers/{id}': { params: { id: 'pending-x' } },
      'GET /inventory/{productId}': { params: { productId: p1 } },
      'GET /inventory': { query: { below: '10' } },
      'GET /inventory/{productId}/reservations/{id}': { params: { productId: p1, id: 'res-x' } },
      'GET /inventory/{productId}/availability': { params: { productId: p1 } },
      'GET /orders/{id}': { params: { id: 'order-x' } },
      'GET /users/{userId}/orders': { params: { userId: user } },
      'GET /users/{userId}/stats': { params: { userId: user } },
      'GET /events': { query: { stream: 'ledger' } },
      'GET /kv/{key}': { params: { key: 's' } },
    };
    for (const [key, options] of Object.entries(samples)) await expectAnswer(key, options, 503, 'STORE_UNAVAILABLE');
  });

  it('once a shutdown began, every route answers 503 SHUTTING_DOWN (the probes and /metrics too)', async () => {
    const { cut } = await app.get(Drain).drain(app.getHttpServer(), 1000);
    expect(cut).toBe(false);
    for (const key of operationsOf(doc)) {
      const params = Object.fromEntries([...key.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name, 'x']));
      await expectAnswer(key, { params }, 503, 'SHUTTING_DOWN');
    }
  });

  if (!full) it('every answer matched the document', () => {
    expect(api.problems).toEqual([]);
    expect([...api.seen.keys()].sort()).toEqual(operationsOf(doc).sort());
  });

  if (full) it('every answer matched the document, and every documented route and outcome was exercised', () => {
    expect(api.problems).toEqual([]);
    expect([...api.seen.keys()].sort()).toEqual(operationsOf(doc).sort());
    const missing: string[] = [];
    const seenCodes = new Set<string>();
    for (const key of operationsOf(doc)) {
      const seen = api.seen.get(key) ?? new Set<string>();
      for (const outcome of seen) seenCodes.add(outcome.split(' ')[1]);
      // A shard route runs the very handler of its plain twin (`/ledgers/{ledger}/transfers` → `/transfers`): the
      // outcomes its twin showed count for it; SHARD_NOT_FOUND is its own.
      const twin = shardTwin(key);
      if (twin) expect(operationsOf(doc)).toContain(twin);
      const twinSeen = twin ? api.seen.get(twin) ?? new Set<string>() : new Set<string>();
      for (const outcome of documentedOutcomes(api.validator, key)) {
        const code = outcome.split(' ')[1];
        if (seen.has(outcome) || (twinSeen.has(outcome) && code !== 'SHARD_NOT_FOUND') || NOT_PRODUCIBLE_HERE[code] || SOME_ROUTES_ONLY.has(code)) continue;
        missing.push(`${key} → ${outcome}`);
      }
    }
    expect(missing).toEqual([]);
    for (const code of SOME_ROUTES_ONLY) expect(seenCodes).toContain(code);
    // the exemptions are documented somewhere (else they would be stale)
    const documentedCodes = new Set(operationsOf(doc).flatMap((k) => documentedOutcomes(api.validator, k).map((o) => o.split(' ')[1])));
    for (const code of Object.keys(NOT_PRODUCIBLE_HERE)) expect(documentedCodes).toContain(code);
  });
});

/**
 * With a rate limit configured (RATE_LIMIT_MAX), the document adds 429 RATE_LIMITED (with Retry-After) to every
 * route but the probes and /metrics — and each of those routes answers it once the client's budget is spent.
 */
describe('OpenAPI document with a rate limit (RATE_LIMIT_MAX=1)', () => {
  let app: NestFastifyApplication;
  let doc: OpenApiDocument;
  let api: DocumentedClient;

  beforeAll(async () => {
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: 'memory', RATE_LIMIT_MAX: '1', RATE_LIMIT_WINDOW_SECONDS: '600' }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    doc = (await app.inject({ method: 'GET', url: '/docs-json' })).json();
    api = new DocumentedClient(app, new ResponseValidator(doc));
  }, 60_000);
  afterAll(async () => {
    await app?.close();
  });

  const limited = (key: string) => /^\w+ \/(health|metrics)(\/|$)/.test(key) === false;

  it('documents 429 RATE_LIMITED with Retry-After on every route but the probes and /metrics', () => {
    const keys = operationsOf(doc);
    expect(keys.filter((k) => !limited(k)).sort()).toEqual(['GET /health', 'GET /health/live', 'GET /health/ready', 'GET /metrics']);
    for (const key of keys) {
      const outcomes = documentedOutcomes(api.validator, key);
      expect({ key, limited: outcomes.includes('429 RATE_LIMITED') }).toEqual({ key, limited: limited(key) });
      if (limited(key)) expect(api.validator.operation(key).responses['429'].headers['Retry-After'].required).toBe(true);
    }
  });

  it('every limited route answers 429 RATE_LIMITED once the budget is spent; the probes and /metrics still answer', async () => {
    await expectStatus('POST /accounts', { body: { id: 'acct-a' } }, 201); // the whole budget
    for (const key of operationsOf(doc)) {
      const params = Object.fromEntries([...key.matchAll(/\{(\w+)\}/g)].map(([, name]) => [name, 'x']));
      const answer = await api.call(key, { params });
      if (limited(key)) {
        expect({ key, status: answer.status, code: answer.body?.code }).toEqual({ key, status: 429, code: 'RATE_LIMITED' });
        expect(answer.headers['retry-after']).toMatch(/^[1-9][0-9]*$/);
      } else expect({ key, status: answer.status }).toEqual({ key, status: 200 });
    }
    expect(api.problems).toEqual([]);
  });

  async function expectStatus(key: string, options: CallOptions, status: number) {
    expect((await api.call(key, options)).status).toBe(status);
  }
});
