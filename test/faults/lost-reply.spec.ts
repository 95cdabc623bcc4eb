/**
 * Fault injection (issue 4): a LOST REPLY. A TCP proxy between the client and a private redis-server forwards
 * one FCALL (or EXEC), then drops the server's reply and resets the client's socket: the server ran the
 * command, the client never hears about it (pitfall 18).
 *
 * - With ioredis' DEFAULT options (autoResendUnfulfilledCommands: true, maxRetriesPerRequest: 20) the client
 *   reconnects and silently sends the FCALL again. With the idempotency record in the same FCALL the resend is
 *   a replay: one effect. CONTROL: the same FCALL without the record (fingerprint '') is applied twice — so
 *   this test is known to bite.
 * - Through OUR ledger (connection.ts: no auto-resend, maxRetriesPerRequest 0) the same lost reply is reported
 *   as OUTCOME_UNKNOWN — never success, never a plain failure — nothing is resent behind the caller's back,
 *   and a retry with the same key replays the single effect.
 */
import Redis from 'ioredis';
import { AtomicError, isReplayed } from '@kernel/core';
import { FunctionLibrary } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import type { TransferReceipt } from '../../src/accounts/accounts.port';
import { accountInRedis, callsOf, LostReplyProxy, RedisStrategy, sleep, waitFor, wireLedger, WiredLedger } from './support';

let server: RedisServer;
let admin: Redis;
let proxy: LostReplyProxy;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
  await FunctionLibrary.fromFile(admin, 'accounts').load();
});

beforeEach(async () => {
  proxy = await LostReplyProxy.start(server.port);
  cleanups.push(() => proxy.close());
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.stop();
});

describe('ioredis defaults (auto-resend) + a raw FCALL whose reply is lost', () => {
  const LEDGER = 'raw';
  const acct = (id: string) => `ra:{${LEDGER}}:acct:${id}`;
  const hist = (id: string) => `ra:{${LEDGER}}:hist:${id}`;
  const events = `ra:{${LEDGER}}:events`;
  let plain: Redis;
  let reconnects: number;

  beforeEach(async () => {
    plain = new Redis({ port: proxy.port, host: '127.0.0.1' }); // DEFAULT options: reconnects and resends
    plain.on('error', () => undefined); // the reset is on purpose
    reconnects = 0;
    plain.on('reconnecting', () => reconnects++);
    cleanups.push(() => plain.disconnect());
    await waitFor(() => plain.status === 'ready', 'the default client to connect');
  });

  /** Opens a (100) and b (0) with plain FCALLs (no key), straight to the server. */
  async function open(a: string, b: string): Promise<void> {
    await admin.call('FCALL', 'accounts_open', 2, acct(a), events, '', 0, 100, 0, a, 1000);
    await admin.call('FCALL', 'accounts_open', 2, acct(b), events, '', 0, 0, 0, b, 1000);
  }

  /** accounts_transfer of 30 from a to b, as the functions adapter sends it; `record` null = no idempotency key. */
  function transfer(a: string, b: string, transferId: string, record: { key: string; fingerprint: string } | null): Promise<unknown> {
    const keys = [acct(a), acct(b), hist(a), hist(b), events, ...(record ? [record.key] : [])];
    return plain.call('FCALL', 'accounts_transfer', keys.length, ...keys,
      record?.fingerprint ?? '', record ? 60 : 0, 30, '', transferId, 100, a, b, 1000);
  }

  it('with the idempotency record: the reply is lost, ioredis resends, the server replays — one effect', async () => {
    await open('a1', 'b1');
    const fcallsBefore = await callsOf(admin, 'fcall');
    proxy.arm(/accounts_transfer/);

    const reply = (await transfer('a1', 'b1', 't-1', { key: `ra:{${LEDGER}}:idem:k1`, fingerprint: 'fp-1' })) as unknown[];

    expect(proxy.drops).toBe(1); // the first reply was lost…
    expect(reconnects).toBeGreaterThanOrEqual(1); // …the client reconnected…
    expect(await callsOf(admin, 'fcall') - fcallsBefore).toBe(2); // …and the server ran the FCALL twice
    expect(reply[0]).toBe(1); // the second run was a replay of the record
    expect(reply.slice(1, 3).map(Number)).toEqual([70, 30]);
    const [a, b] = [await accountInRedis(admin, LEDGER, 'a1'), await accountInRedis(admin, LEDGER, 'b1')];
    expect({ a: a.balance, b: b.balance }).toEqual({ a: 70, b: 30 }); // money moved once
    expect(a.history.map((e) => e.split('|').slice(0, 2).join('|'))).toEqual(['t-1|o']);
    expect(b.history.map((e) => e.split('|').slice(0, 2).join('|'))).toEqual(['t-1|i']);
    const transferEvents = (await admin.xrange(events, '-', '+')).filter(([, fields]) => fields[3].includes('"t-1"'));
    expect(transferEvents).toHaveLength(1); // and its event was appended once
  });

  it('CONTROL without the record (fingerprint \'\'): the same lost reply makes ioredis apply the transfer twice', async () => {
    await open('a2', 'b2');
    const fcallsBefore = await callsOf(admin, 'fcall');
    proxy.arm(/accounts_transfer/);

    const reply = (await transfer('a2', 'b2', 't-2', null)) as unknown[];

    expect(proxy.drops).toBe(1);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    expect(await callsOf(admin, 'fcall') - fcallsBefore).toBe(2);
    expect(reply[0]).toBe(0); // a fresh run, not a replay…
    expect(reply.slice(1, 3).map(Number)).toEqual([40, 60]); // …of the second transfer
    const [a, b] = [await accountInRedis(admin, LEDGER, 'a2'), await accountInRedis(admin, LEDGER, 'b2')];
    expect({ a: a.balance, b: b.balance }).toEqual({ a: 40, b: 60 }); // the double-apply
    expect(a.history.filter((e) => e.startsWith('t-2|o|'))).toHaveLength(2);
    expect(b.history.filter((e) => e.startsWith('t-2|i|'))).toHaveLength(2);
    expect((await admin.xrange(events, '-', '+')).filter(([, fields]) => fields[3].includes('"t-2"'))).toHaveLength(2);
  });
});

describe.each<[RedisStrategy, RegExp]>([
  ['functions', /accounts_transfer/],
  ['transactions', /\*1\r\n\$4\r\nexec\r\n/i], // the EXEC of the WATCH transaction
])('our ledger (%s) through the proxy: a lost reply', (strategy, trigger) => {
  const LEDGER = `ours-${strategy}`;
  let wired: WiredLedger;

  beforeEach(async () => {
    wired = await wireLedger(proxy.url, strategy, {}, LEDGER);
    cleanups.push(() => wired.close());
  });

  /** Retries while the client reconnects (STORE_UNAVAILABLE is "certainly not run"); bounded. */
  async function retry<T>(op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await op();
      } catch (err) {
        if (!(err instanceof AtomicError && err.code === 'STORE_UNAVAILABLE') || attempt >= 50) throw err;
        await sleep(20);
      }
    }
  }

  it('is reported OUTCOME_UNKNOWN (never success, never a plain failure); the retry with the same key replays the single effect', async () => {
    const { ledger } = wired;
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b' });
    proxy.arm(trigger);

    const outcome = await ledger.transfer({ from: 'a', to: 'b', amount: 30 }, { idempotencyKey: 'lost-1' }).then(
      (value) => ({ value }), (error: unknown) => ({ error }));
    expect(proxy.drops).toBe(1);
    expect(outcome).toEqual({ error: expect.any(AtomicError) });
    const error = (outcome as { error: AtomicError }).error;
    expect({ code: error.code, replayed: error.replayed }).toEqual({ code: 'OUTCOME_UNKNOWN', replayed: false });

    // it DID run, exactly once, and our client did not resend it behind our back
    await sleep(300); // longer than the shared client's first reconnect delay (100 ms)
    const applied = await accountInRedis(admin, LEDGER, 'a');
    expect(applied.balance).toBe(70);
    expect(applied.history).toHaveLength(1);

    const receipt: TransferReceipt = await retry(() =>
      ledger.transfer({ from: 'a', to: 'b', amount: 30 }, { idempotencyKey: 'lost-1' }));
    expect(isReplayed(receipt)).toBe(true);
    expect(receipt).toMatchObject({ from: { id: 'a', balance: 70 }, to: { id: 'b', balance: 30 }, amount: 30 });
    expect(receipt.id).toBe(applied.history[0].split('|')[0]); // the id of the one transfer that ran
    expect(await accountInRedis(admin, LEDGER, 'a')).toEqual(applied);
    expect((await accountInRedis(admin, LEDGER, 'b')).balance).toBe(30);
  });

  it('without a key: OUTCOME_UNKNOWN, applied once, and not resent after the reconnect (no auto-resend)', async () => {
    const { ledger, client } = wired;
    await ledger.open({ id: 'c', balance: 100 });
    await ledger.open({ id: 'd' });
    const before = await keyspaceSnapshot(admin);
    proxy.arm(trigger);

    const error = await ledger.transfer({ from: 'c', to: 'd', amount: 30 }).then(() => null, (e: unknown) => e);
    expect(proxy.drops).toBe(1);
    expect(error).toBeInstanceOf(AtomicError);
    expect((error as AtomicError).code).toBe('OUTCOME_UNKNOWN');

    await waitFor(() => client.status === 'ready', 'the shared client to be connected');
    await retry(() => ledger.get('c')); // a round trip after the reconnect: anything resent has run by now
    await sleep(100);
    expect(await keyspaceSnapshot(admin)).not.toBe(before);
    expect(await accountInRedis(admin, LEDGER, 'c')).toMatchObject({ balance: 70, history: [expect.any(String)] });
    expect((await accountInRedis(admin, LEDGER, 'd')).balance).toBe(30);
  });
});
