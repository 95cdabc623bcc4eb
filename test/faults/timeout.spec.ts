/**
 * Fault injection (issue 4): a TIMEOUT THAT STILL APPLIES. An admin connection runs `CLIENT PAUSE <ms> WRITE`
 * for longer than the client's command timeout (RedisAtomicModule with `commandTimeoutMs: 200`): the write is
 * held by the server, the client gives up after 200 ms and must say OUTCOME_UNKNOWN (not "failed": the server
 * applies it when the pause ends). The retry with the same key then replays the single effect.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { AtomicError, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import {
  accountInRedis, buildApp, callsOf, HttpRes, RedisStrategy, send, sleep, waitFor, wireLedger, WiredLedger,
} from './support';

const COMMAND_TIMEOUT_MS = 200;
/** Longer than the command timeout (with a margin for slow machines); 2 timeouts fit into the long one. */
const PAUSE_MS = 400;
const LONG_PAUSE_MS = 650;

let server: RedisServer;
let admin: Redis;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
});

afterEach(async () => {
  await admin.call('CLIENT', 'UNPAUSE');
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.stop();
});

const codeOf = (outcome: unknown) => (outcome instanceof AtomicError ? outcome.code : `not an AtomicError: ${String(outcome)}`);

describe.each<RedisStrategy>(['functions', 'transactions'])('port, strategy %s, commandTimeoutMs 200', (strategy) => {
  const LEDGER = `timeout-${strategy}`;
  let wired: WiredLedger;

  beforeEach(async () => {
    wired = await wireLedger(server.url, strategy, { commandTimeoutMs: COMMAND_TIMEOUT_MS }, LEDGER);
    cleanups.push(() => wired.close());
  });

  it('CLIENT PAUSE WRITE longer than the timeout → OUTCOME_UNKNOWN; the server applies it after the pause; the retry replays it', async () => {
    const { ledger } = wired;
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b' });
    const cmd = { from: 'a', to: 'b', amount: 30 };
    const fcallsBefore = await callsOf(admin, 'fcall');

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const pausedAt = Date.now();
    const first = await ledger.transfer(cmd, { idempotencyKey: 'slow-1' }).then(() => 'resolved', (e: unknown) => e);
    const waited = Date.now() - pausedAt;
    expect(codeOf(first)).toBe('OUTCOME_UNKNOWN');
    expect(waited).toBeLessThan(PAUSE_MS - 50); // the client's timeout answered, not the end of the pause

    // still paused: not applied yet — "timed out" is not "did nothing", and not "done" either
    expect((await accountInRedis(admin, LEDGER, 'a')).balance).toBe(100);

    // the pause ends: the server runs what it held
    await waitFor(async () => (await accountInRedis(admin, LEDGER, 'a')).balance !== 100, 'the held write to be applied', 3_000);
    await sleep(50);
    const applied = await accountInRedis(admin, LEDGER, 'a');
    expect(applied.balance).toBe(70);
    expect(applied.history).toHaveLength(1);

    const receipt = await ledger.transfer(cmd, { idempotencyKey: 'slow-1' });
    expect(isReplayed(receipt)).toBe(true);
    expect(receipt).toMatchObject({ from: { id: 'a', balance: 70 }, to: { id: 'b', balance: 30 }, amount: 30 });
    expect(receipt.id).toBe(applied.history[0].split('|')[0]);
    expect(await accountInRedis(admin, LEDGER, 'a')).toEqual(applied);
    expect(await accountInRedis(admin, LEDGER, 'b')).toMatchObject({ balance: 30, history: [expect.stringMatching(/\|i\|/)] });
    if (strategy === 'functions') {
      // the server ran the keyed FCALL twice (the held one, then the retry): one effect, one replay
      expect(await callsOf(admin, 'fcall') - fcallsBefore).toBe(2);
    }
  });

  it('a retry while the server still holds the first attempt is in doubt too; retrying with the key until definite → exactly one effect', async () => {
    const { ledger } = wired;
    await ledger.open({ id: 'e', balance: 100 });
    await ledger.open({ id: 'f' });
    const cmd = { from: 'e', to: 'f', amount: 30 };
    await admin.call('CLIENT', 'PAUSE', String(LONG_PAUSE_MS), 'WRITE');
    const pausedAt = Date.now();
    const first = await ledger.transfer(cmd, { idempotencyKey: 'slow-2' }).then(() => 'resolved', (e: unknown) => e);
    expect(codeOf(first)).toBe('OUTCOME_UNKNOWN');
    const during = await ledger.transfer(cmd, { idempotencyKey: 'slow-2' }).then(() => 'resolved', (e: unknown) => e);
    expect(codeOf(during)).toBe('OUTCOME_UNKNOWN');
    expect((await accountInRedis(admin, LEDGER, 'e')).balance).toBe(100);

    await sleep(pausedAt + LONG_PAUSE_MS - Date.now());
    let receipt: Awaited<ReturnType<typeof ledger.transfer>> | undefined;
    for (let attempt = 1; !receipt; attempt++) {
      try {
        receipt = await ledger.transfer(cmd, { idempotencyKey: 'slow-2' });
      } catch (err) {
        if (!['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE', 'CONFLICT'].includes(codeOf(err)) || attempt >= 20) throw err;
        await sleep(50);
      }
    }
    expect(receipt).toMatchObject({ from: { id: 'e', balance: 70 }, to: { id: 'f', balance: 30 } });
    const [e, f] = [await accountInRedis(admin, LEDGER, 'e'), await accountInRedis(admin, LEDGER, 'f')];
    expect({ e: e.balance, f: f.balance }).toEqual({ e: 70, f: 30 });
    expect(e.history.map((entry) => entry.split('|')[0])).toEqual([receipt.id]);
    expect(f.history.map((entry) => entry.split('|')[0])).toEqual([receipt.id]);
    // functions: both held FCALLs ran after the pause (the 2nd replayed the 1st), so the last retry is a replay.
    // transactions (observed): the held retry reused the pooled connection whose EXEC the server was holding; its
    // WATCH timed out, its UNWATCH too, so WatchRunner discarded that connection — and the server dropped the
    // held EXEC with it: the last retry applied the transfer, once. Either way: one effect.
    if (strategy === 'functions') expect(isReplayed(receipt)).toBe(true);
  });

  it('CONTROL without a key: the "failed" write is applied anyway once the pause ends (a blind retry would double it)', async () => {
    const { ledger } = wired;
    await ledger.open({ id: 'c', balance: 100 });
    await ledger.open({ id: 'd' });
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const first = await ledger.withdraw({ id: 'c', amount: 10 }).then(() => 'resolved', (e: unknown) => e);
    expect(codeOf(first)).toBe('OUTCOME_UNKNOWN');
    await waitFor(async () => (await accountInRedis(admin, LEDGER, 'c')).balance === 90, 'the held withdrawal to be applied', 3_000);
    await ledger.withdraw({ id: 'c', amount: 10 }); // the blind retry
    expect((await accountInRedis(admin, LEDGER, 'c')).balance).toBe(80);
  });
});

describe('HTTP (functions, commandTimeoutMs 200)', () => {
  let app: NestFastifyApplication;
  let unknown: HttpRes | undefined;

  beforeAll(async () => {
    app = await buildApp({ ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url, LEDGER: 'timeout-http' },
      { commandTimeoutMs: COMMAND_TIMEOUT_MS });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('POST /transfers held by the pause → 503 OUTCOME_UNKNOWN; after the pause the retry with the same key → 201 replayed, one effect', async () => {
    expect((await send(app, 'POST', '/accounts', { id: 'a', balance: 100 })).status).toBe(201);
    expect((await send(app, 'POST', '/accounts', { id: 'b' })).status).toBe(201);
    const body = { from: 'a', to: 'b', amount: 30 };

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    unknown = await send(app, 'POST', '/transfers', body, 'http-slow-1');
    expect(unknown).toMatchObject({ status: 503, replayed: false, body: { statusCode: 503, code: 'OUTCOME_UNKNOWN' } });

    await waitFor(async () => (await accountInRedis(admin, 'timeout-http', 'a')).balance === 70, 'the held transfer to be applied', 3_000);
    const retried = await send(app, 'POST', '/transfers', body, 'http-slow-1');
    expect(retried).toMatchObject({ status: 201, replayed: true, body: { from: { id: 'a', balance: 70 }, to: { id: 'b', balance: 30 } } });
    expect((await send(app, 'GET', '/accounts/a')).body).toMatchObject({ balance: 70 });
    expect((await send(app, 'GET', '/accounts/a/history')).body.entries).toHaveLength(1);
  });

  it('the 503 OUTCOME_UNKNOWN message tells the client to retry with the same Idempotency-Key (issue 4)', () => {
    expect(unknown?.body?.code).toBe('OUTCOME_UNKNOWN');
    expect(unknown!.body.message).toMatch(/retry/i);
    expect(unknown!.body.message).toMatch(/same Idempotency-Key/i);
  });
});
