/**
 * Cross-shard transfers over HTTP, on the real app (createApp + loadConfig, LEDGER_SPREAD=4): POST
 * /ledgers/:ledger/transfers answers 201 only once the decision is COMMITTED and applied on both shards; refusals
 * keep their codes and statuses; an Idempotency-Key replays; batches across shards are all or nothing; the
 * transactions strategy answers 422 CROSS_SHARD_UNSUPPORTED. Functions on a private redis-server, and memory.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisServer } from '@kernel/testing';
import type { AtomicStrategy } from '@kernel/core';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { SpreadRouting } from '../../src/accounts/spread/spread-keys';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()), 60_000);
afterAll(() => server?.stop());

/** Two account ids of the ledger on different shards (spread 4). */
function crossPair(ledger: string, base: string): [string, string] {
  const routing = new SpreadRouting(ledger, 4);
  for (let i = 0; ; i++) {
    const [a, b] = [`${base}a${i}`, `${base}b${i}`];
    if (routing.shardOf(a) !== routing.shardOf(b)) return [a, b];
  }
}

it('LEDGER_SPREAD, ESCROW_TIMEOUT_MS and ESCROW_GRACE_MS are read and checked like every variable', () => {
  expect(loadConfig({ LEDGER_SPREAD: '8', ESCROW_TIMEOUT_MS: '300', ESCROW_GRACE_MS: '0' }))
    .toMatchObject({ ledgerSpread: 8, escrowTimeoutMs: 300, escrowGraceMs: 0 });
  expect(loadConfig({})).toMatchObject({ ledgerSpread: undefined, escrowTimeoutMs: undefined });
  expect(() => loadConfig({ LEDGER_SPREAD: '65' })).toThrow(/LEDGER_SPREAD/);
  expect(() => loadConfig({ LEDGER_SPREAD: '0' })).toThrow(/LEDGER_SPREAD/);
  expect(() => loadConfig({ ESCROW_TIMEOUT_MS: '0' })).toThrow(/ESCROW_TIMEOUT_MS/);
});

describe.each(['functions', 'memory', 'transactions'] as AtomicStrategy[])('HTTP cross-shard transfers, strategy %s', (strategy) => {
  let app: NestFastifyApplication;
  beforeAll(async () => {
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server.url, LEDGER: `xs-${strategy}`, LEDGERS: `eu-${strategy}`,
      LEDGER_SPREAD: '4', PENDING_SWEEP_MS: '200' }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }, 60_000);
  afterAll(() => app?.close());

  const send = async (method: 'GET' | 'POST', url: string, payload?: object, key?: string) => {
    const res = await app.inject({ method, url, payload, headers: key ? { 'idempotency-key': key } : {} });
    return { status: res.statusCode, body: res.json(), replayed: res.headers['idempotent-replayed'] === 'true' };
  };

  it('moves money between shards of /ledgers/:ledger, replays by key, refuses with the usual codes', async () => {
    const ledger = `eu-${strategy}`;
    const base = `/ledgers/${ledger}`;
    const [a, b] = crossPair(ledger, 'h');
    expect((await send('POST', `${base}/accounts`, { id: a, balance: 100 })).status).toBe(201);
    expect((await send('POST', `${base}/accounts`, { id: b })).status).toBe(201);
    const first = await send('POST', `${base}/transfers`, { from: a, to: b, amount: 40 }, 'k1');
    if (strategy === 'transactions') {
      expect(first).toMatchObject({ status: 422, body: { code: 'CROSS_SHARD_UNSUPPORTED' } });
      expect((await send('GET', `${base}/accounts/${a}`)).body).toMatchObject({ balance: 100 });
      return;
    }
    expect(first).toMatchObject({ status: 201, replayed: false, body: { from: { id: a, balance: 60 }, to: { id: b, balance: 40 }, amount: 40 } });
    const again = await send('POST', `${base}/transfers`, { from: a, to: b, amount: 40 }, 'k1');
    expect(again).toMatchObject({ status: 201, replayed: true, body: first.body });
    expect((await send('POST', `${base}/transfers`, { from: a, to: b, amount: 41 }, 'k1'))).toMatchObject({ status: 422,
      body: { code: 'IDEMPOTENCY_KEY_MISMATCH' } });
    expect(await send('POST', `${base}/transfers`, { from: a, to: b, amount: 61 })).toMatchObject({ status: 422,
      body: { code: 'INSUFFICIENT_FUNDS', account: a, balance: 60, floor: 0 } });
    expect((await send('GET', `${base}/accounts/${a}`)).body).toMatchObject({ balance: 60, pendingDebits: 0, available: 60 });
    expect((await send('GET', `${base}/accounts/${b}`)).body).toMatchObject({ balance: 40, pendingCredits: 0 });
    const history = (await send('GET', `${base}/accounts/${b}/history`)).body;
    expect(history.entries[0]).toMatchObject({ transferId: first.body.id, type: 'transfer_in', amount: 40, counterparty: a, balance: 40 });
    // A batch across shards: all or nothing.
    const refused = await send('POST', `${base}/transfers/batch`, { transfers: [{ from: a, to: b, amount: 10 }, { from: b, to: a, amount: 500 }] });
    expect(refused).toMatchObject({ status: 422, body: { code: 'INSUFFICIENT_FUNDS', index: 1, account: b } });
    const batch = await send('POST', `${base}/transfers/batch`, { transfers: [{ from: a, to: b, amount: 10 }, { from: b, to: a, amount: 50 }] });
    expect(batch).toMatchObject({ status: 201, body: { transfers: [{ from: { balance: 50 }, to: { balance: 50 } }, { from: { balance: 0 }, to: { balance: 100 } }] } });
    // The default ledger is spread too (the plain routes).
    const [c, d] = crossPair(`xs-${strategy}`, 'p');
    await send('POST', '/accounts', { id: c, balance: 5 });
    await send('POST', '/accounts', { id: d });
    expect(await send('POST', '/transfers', { from: c, to: d, amount: 5 })).toMatchObject({ status: 201, body: { to: { balance: 5 } } });
  });
});
