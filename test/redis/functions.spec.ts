import { join } from 'node:path';
import type Redis from 'ioredis';
import { AtomicError, decodeRedisError } from '@kernel/core';
import { connectRedis, findLuaDir, FunctionLibrary } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { assembleLibrary } from '@kernel/redis';
import type { Transfer } from '../../src/accounts/accounts.port';
import {
  atomicRejection, commandCalls, REDIS_STRATEGIES, rejectionOf, waitFor, wireLedger, Wired,
} from './helpers';

/**
 * The functions strategy against a private redis-server: loading and reloading the Lua library (pitfall 13),
 * reply shapes (10), error decoding (11), and "check everything before the first write" (9) — the last one
 * for both Redis strategies, since both must refuse corrupted data without writing.
 */

const ACCT = (id: string) => `ra:{main}:acct:${id}`;
const HIST = (id: string) => `ra:{main}:hist:${id}`;

let server: RedisServer;
let admin: Redis;
const opened: Wired[] = [];

async function wire(strategy: 'functions' | 'transactions' = 'functions'): Promise<Wired> {
  const wired = await wireLedger(server, strategy);
  opened.push(wired);
  return wired;
}

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
});

beforeEach(async () => {
  await admin.flushall();
  await admin.call('FUNCTION', 'FLUSH');
});

afterEach(async () => {
  for (const wired of opened.splice(0)) await wired.close();
});

afterAll(async () => {
  await server?.stop();
});

describe('FunctionLibrary loading', () => {
  it('loads on an empty server and reports the version of lua/accounts.lua', async () => {
    const client = await connectRedis({ url: server.url });
    try {
      const library = FunctionLibrary.fromFile(client, 'accounts');
      expect(library.version).toBe(assembleLibrary('accounts', findLuaDir()).version);
      expect(library.version).toMatch(/^[0-9a-f]{16}$/);

      expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
      expect(await library.loadedVersion()).toBeNull();

      await library.load();
      expect(await library.loadedVersion()).toBe(library.version);

      // Loading again replaces the library instead of failing with "already exists".
      await library.load();
      expect(await library.loadedVersion()).toBe(library.version);

      const [lib] = (await admin.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'accounts')) as unknown[][];
      const functions = lib[lib.indexOf('functions') + 1] as unknown[][];
      const flags = Object.fromEntries(functions.map((f) => [f[f.indexOf('name') + 1], f[f.indexOf('flags') + 1]]));
      expect(Object.keys(flags).sort()).toEqual(['accounts_get', 'accounts_history', 'accounts_open', 'accounts_transfer',
        'accounts_transfer_batch', 'accounts_version', 'accounts_deposit', 'accounts_withdraw', 'accounts_transfer_pending', 'accounts_post',
        'accounts_void', 'accounts_expire', 'accounts_get_transfer', 'accounts_due'].sort());
      expect(flags.accounts_version).toEqual(['no-writes']);
      expect(flags.accounts_get).toEqual(['no-writes']);
      expect(flags.accounts_history).toEqual(['no-writes']);
      expect(flags.accounts_transfer).toEqual([]);
      expect(flags.accounts_get_transfer).toEqual(['no-writes']);
      expect(flags.accounts_due).toEqual(['no-writes']);
      expect(flags.accounts_post).toEqual([]);
    } finally {
      client.disconnect();
    }
  });

  it('is loaded by the module at startup on an empty server', async () => {
    const { libraries } = await wire('functions');
    const library = libraries.get('accounts');
    expect(await library.loadedVersion()).toBe(library.version);
  });

  it('a FUNCTION FLUSH mid-run: the next write reloads the library and is applied exactly once', async () => {
    const { ledger, libraries } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 100 });
    await ledger.open({ id: 'bob', balance: 0 });

    await admin.call('FUNCTION', 'FLUSH');
    expect(await libraries.get('accounts').loadedVersion()).toBeNull();

    const receipt = await ledger.transfer({ from: 'alice', to: 'bob', amount: 30 });
    expect(receipt.from).toEqual({ id: 'alice', balance: 70 });
    expect(receipt.to).toEqual({ id: 'bob', balance: 30 });
    expect(await libraries.get('accounts').loadedVersion()).toBe(libraries.get('accounts').version);
    // Nothing ran before the reload, so the retry applied the transfer once.
    expect(await admin.hget(ACCT('alice'), 'b')).toBe('70');
    expect(await admin.llen(HIST('alice'))).toBe(1);
    expect(await admin.llen(HIST('bob'))).toBe(1);
  });

  it('a FUNCTION FLUSH mid-run: a read-only call (FCALL_RO) reloads too', async () => {
    const { ledger } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 5, minBalance: -7 });
    await admin.call('FUNCTION', 'FLUSH');
    expect(await ledger.get('alice')).toEqual({ id: 'alice', balance: 5, minBalance: -7, pendingDebits: 0, pendingCredits: 0, available: 5 });
  });

  it('concurrent calls after a flush share one reload', async () => {
    const { ledger, libraries } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 0 });
    const library = libraries.get('accounts');
    const load = jest.spyOn(library, 'load');

    await admin.call('FUNCTION', 'FLUSH');
    await admin.call('CONFIG', 'RESETSTAT');
    const results = await Promise.all([
      ...Array.from({ length: 20 }, (_, i) => ledger.deposit({ id: 'alice', amount: i + 1 })),
      ...Array.from({ length: 10 }, () => ledger.get('alice')),
    ]);

    expect(results).toHaveLength(30);
    expect(load).toHaveBeenCalledTimes(1);
    expect(await commandCalls(admin, 'function|load')).toBe(1);
    expect(await ledger.get('alice')).toEqual({ id: 'alice', balance: 210, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 210 }); // 1 + … + 20, each once
    expect(await admin.llen(HIST('alice'))).toBe(20);
  });

  it('FLUSHALL keeps the library (only FUNCTION FLUSH removes it)', async () => {
    const { libraries } = await wire('functions');
    await admin.flushall();
    const library = libraries.get('accounts');
    expect(await library.loadedVersion()).toBe(library.version);
  });

  it('a restart without persistence: the next call reloads and answers ACCOUNT_NOT_FOUND, never a zero balance', async () => {
    const { ledger, client, libraries } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 100 });
    await ledger.open({ id: 'bob', balance: 100 });

    await server.restart();
    await waitFor(() => client.status === 'ready', 'the shared client to reconnect');
    await admin.ping(); // the test's own client is back too
    expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);

    const notFound = await atomicRejection(ledger.get('alice'));
    expect(notFound.code).toBe('ACCOUNT_NOT_FOUND');
    expect(await libraries.get('accounts').loadedVersion()).toBe(libraries.get('accounts').version);

    const transfer = await atomicRejection(ledger.transfer({ from: 'alice', to: 'bob', amount: 1 }));
    expect(transfer.code).toBe('ACCOUNT_NOT_FOUND');
    expect(transfer.details).toMatchObject({ account: 'alice' });
    expect(await keyspaceSnapshot(admin)).toBe('');

    // and the ledger works normally afterwards
    await ledger.open({ id: 'alice', balance: 3 });
    expect(await ledger.get('alice')).toEqual({ id: 'alice', balance: 3, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 3 });
  });
});

describe('replies decode to typed results (functions strategy)', () => {
  it('accounts, balances and receipts are numbers, exact up to Number.MAX_SAFE_INTEGER', async () => {
    const { ledger } = await wire('functions');
    const big = Number.MAX_SAFE_INTEGER - 1000;
    expect(await ledger.open({ id: 'alice', balance: big, minBalance: -50 })).toEqual({ id: 'alice', balance: big, minBalance: -50, pendingDebits: 0, pendingCredits: 0, available: big });
    await ledger.open({ id: 'bob', balance: 10 });

    const got = await ledger.get('alice');
    expect(got).toEqual({ id: 'alice', balance: big, minBalance: -50, pendingDebits: 0, pendingCredits: 0, available: big });
    expect(typeof got.balance).toBe('number');

    expect(await ledger.deposit({ id: 'alice', amount: 1000 })).toEqual({ id: 'alice', balance: Number.MAX_SAFE_INTEGER });
    const limit = await atomicRejection(ledger.deposit({ id: 'alice', amount: 1 }));
    expect(limit.code).toBe('BALANCE_LIMIT_EXCEEDED');
    expect(await ledger.withdraw({ id: 'bob', amount: 4 })).toEqual({ id: 'bob', balance: 6 });

    const [t0] = (await admin.time()).map(Number);
    const receipt = await ledger.transfer({ from: 'alice', to: 'bob', amount: 7 });
    const [t1] = (await admin.time()).map(Number);
    expect(receipt).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      from: { id: 'alice', balance: Number.MAX_SAFE_INTEGER - 7 },
      to: { id: 'bob', balance: 13 },
      amount: 7,
      at: expect.any(String),
    });
    expect(new Date(receipt.at).toISOString()).toBe(receipt.at);
    // the entry id's milliseconds are the server's clock at the transfer
    expect(Date.parse(receipt.at)).toBeGreaterThanOrEqual(t0 * 1000);
    expect(Date.parse(receipt.at)).toBeLessThanOrEqual((t1 + 1) * 1000);
  });

  it('a batch returns one receipt per item with the balances after that item', async () => {
    const { ledger } = await wire('functions');
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b', balance: 0 });
    await ledger.open({ id: 'c', balance: 0 });
    const receipts = await ledger.transferBatch([
      { from: 'a', to: 'b', amount: 60 },
      { from: 'b', to: 'c', amount: 50 }, // uses money b received in item 0
      { from: 'c', to: 'a', amount: 5 },
    ]);
    expect(receipts.map((r) => [r.from, r.to, r.amount])).toEqual([
      [{ id: 'a', balance: 40 }, { id: 'b', balance: 60 }, 60],
      [{ id: 'b', balance: 10 }, { id: 'c', balance: 50 }, 50],
      [{ id: 'c', balance: 45 }, { id: 'a', balance: 45 }, 5],
    ]);
    expect(new Set(receipts.map((r) => r.id)).size).toBe(3);
    for (const r of receipts) expect(new Date(r.at).toISOString()).toBe(r.at);
    expect(await Promise.all(['a', 'b', 'c'].map(async (id) => (await ledger.get(id)).balance))).toEqual([45, 10, 45]);
  });

  it('history entries are well-formed, newest first, and page with a cursor', async () => {
    const { ledger } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 100 });
    await ledger.open({ id: 'bob', balance: 0 });
    await ledger.deposit({ id: 'alice', amount: 10 });
    const t = await ledger.transfer({ from: 'alice', to: 'bob', amount: 25 });
    await ledger.withdraw({ id: 'alice', amount: 5 });
    const [b] = await ledger.transferBatch([{ from: 'bob', to: 'alice', amount: 3 }]);

    const page = await ledger.history('alice');
    expect(page.next).toBeNull();
    expect(page.entries).toEqual([
      { transferId: b.id, type: 'transfer_in', amount: 3, counterparty: 'bob', balance: 83, at: b.at },
      { transferId: expect.any(String), type: 'withdrawal', amount: -5, counterparty: null, balance: 80, at: expect.any(String) },
      { transferId: t.id, type: 'transfer_out', amount: -25, counterparty: 'bob', balance: 85, at: t.at },
      { transferId: expect.any(String), type: 'deposit', amount: 10, counterparty: null, balance: 110, at: expect.any(String) },
    ]);
    for (const e of page.entries) {
      expect(typeof e.amount).toBe('number');
      expect(typeof e.balance).toBe('number');
      expect(new Date(e.at).toISOString()).toBe(e.at);
    }
    expect((await ledger.history('bob')).entries.map((e) => [e.type, e.amount, e.counterparty, e.balance]))
      .toEqual([['transfer_out', -3, 'alice', 22], ['transfer_in', 25, 'alice', 25]]);

    const first = await ledger.history('alice', { limit: 3 });
    expect(first.entries).toEqual(page.entries.slice(0, 3));
    expect(first.next).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]+$/)); // opaque base64url cursor
    const second = await ledger.history('alice', { limit: 3, cursor: first.next! });
    expect(second).toEqual({ entries: page.entries.slice(3), next: null });

    expect((await atomicRejection(ledger.history('ghost'))).code).toBe('ACCOUNT_NOT_FOUND');
  });
});

describe('Lua business errors decode to AtomicError with code and details', () => {
  it('the raw Redis error carries the code; decodeRedisError turns it into a typed error', async () => {
    const { ledger } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 10, minBalance: -5 });
    await ledger.open({ id: 'bob', balance: 0 });
    const raw = (await rejectionOf(admin.call('FCALL', 'accounts_transfer', 5, ACCT('alice'), ACCT('bob'), HIST('alice'),
      HIST('bob'), 'ra:{main}:events', '', 0, 100, '', 't1', 1000, 'alice', 'bob', 1000))) as Error; // no idempotency key: '' and 0 first
    expect(raw.message).toMatch(/^INSUFFICIENT_FUNDS \{/);
    const decoded = decodeRedisError(raw) as AtomicError;
    expect(decoded).toBeInstanceOf(AtomicError);
    expect(decoded.code).toBe('INSUFFICIENT_FUNDS');
    expect(decoded.message).toBe('balance would fall below the floor');
    expect(decoded.details).toEqual({ account: 'alice', balance: 10, available: 10, floor: -5 });
  });

  it('transfer, open, deposit, withdraw and get report their codes through the ledger', async () => {
    const { ledger } = await wire('functions');
    await ledger.open({ id: 'alice', balance: 10 });
    await ledger.open({ id: 'bob', balance: 0 });
    const before = await keyspaceSnapshot(admin);

    const insufficient = await atomicRejection(ledger.transfer({ from: 'alice', to: 'bob', amount: 11, minBalance: -100 }));
    expect(insufficient).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { account: 'alice', balance: 10, floor: 0 } });
    const requestFloor = await atomicRejection(ledger.transfer({ from: 'alice', to: 'bob', amount: 5, minBalance: 6 }));
    expect(requestFloor).toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { account: 'alice', balance: 10, floor: 6 } });
    const missingTarget = await atomicRejection(ledger.transfer({ from: 'alice', to: 'ghost', amount: 1 }));
    expect(missingTarget).toMatchObject({ code: 'ACCOUNT_NOT_FOUND', details: { account: 'ghost' } });
    expect(await atomicRejection(ledger.open({ id: 'alice' }))).toMatchObject({ code: 'ACCOUNT_EXISTS' });
    expect(await atomicRejection(ledger.deposit({ id: 'ghost', amount: 1 }))).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    expect(await atomicRejection(ledger.withdraw({ id: 'alice', amount: 11 })))
      .toMatchObject({ code: 'INSUFFICIENT_FUNDS', details: { balance: 10, floor: 0 } });
    expect(await atomicRejection(ledger.get('ghost'))).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });

    expect(await keyspaceSnapshot(admin)).toBe(before);
  });

  describe.each(REDIS_STRATEGIES)('batch failures name the failing item (%s)', (strategy) => {
    it('INSUFFICIENT_FUNDS at index 1, ACCOUNT_NOT_FOUND at index 2; nothing written', async () => {
      const { ledger } = await wire(strategy);
      await ledger.open({ id: 'a', balance: 100 });
      await ledger.open({ id: 'b', balance: 0 });
      const before = await keyspaceSnapshot(admin);

      const funds = await atomicRejection(ledger.transferBatch([
        { from: 'a', to: 'b', amount: 60 },
        { from: 'a', to: 'b', amount: 41 }, // a has 40 left after item 0
        { from: 'b', to: 'a', amount: 1 },
      ]));
      expect(funds.code).toBe('INSUFFICIENT_FUNDS');
      expect(funds.details).toEqual({ index: 1, account: 'a', balance: 40, available: 40, floor: 0 });

      const missing = await atomicRejection(ledger.transferBatch([
        { from: 'a', to: 'b', amount: 1 },
        { from: 'b', to: 'a', amount: 1 },
        { from: 'a', to: 'ghost', amount: 1 },
      ]));
      expect(missing.code).toBe('ACCOUNT_NOT_FOUND');
      expect(missing.details).toEqual({ index: 2, account: 'ghost' });

      expect(await keyspaceSnapshot(admin)).toBe(before);
    });
  });
});

/**
 * Data in a shape our writes cannot apply to must be refused before the first write (Redis rolls nothing
 * back, in Lua or in MULTI). Each corruption is applied to one key; the operation must fail with
 * STORE_CORRUPTED and leave the whole keyspace as it was.
 */
describe.each(REDIS_STRATEGIES)('corrupted keys are refused before any write (%s)', (strategy) => {
  type Corruption = [name: string, corrupt: (id: string) => Promise<unknown>];
  const corruptions: Corruption[] = [
    ['the history key holds a string', (id) => admin.set(HIST(id), 'not a list')],
    ['the history key holds a hash', (id) => admin.multi().del(HIST(id)).hset(HIST(id), 'x', '1').exec()],
    ['the account key holds a string', (id) => admin.set(ACCT(id), '100')],
    ['the balance is not a number', (id) => admin.hset(ACCT(id), 'b', 'abc')],
    ['the balance is a fraction', (id) => admin.hset(ACCT(id), 'b', '1.5')],
    ['the floor is not a number', (id) => admin.hset(ACCT(id), 'm', 'abc')],
    // Integer-valued for Lua's tonumber / JS Number(), but not integers for HINCRBY (Redis' string2ll).
    ['the balance is "1e3"', (id) => admin.hset(ACCT(id), 'b', '1e3')],
    ['the balance is "007"', (id) => admin.hset(ACCT(id), 'b', '007')],
    ['the balance is " 5"', (id) => admin.hset(ACCT(id), 'b', ' 5')],
    ['the balance is ""', (id) => admin.hset(ACCT(id), 'b', '')],
  ];
  // Corrupted: the account written last (target / deposit account — a write path failing only there would
  // already have applied the earlier writes), and the one written first (the source, whose history the Lua
  // pushes first without a TYPE check: that push must fail before anything else is written).
  const operations: [name: string, run: (w: Wired, victim: string) => Promise<unknown>][] = [
    ['transfer', (w) => w.ledger.transfer({ from: 'alice', to: 'bob', amount: 10 })],
    ['transferBatch', (w) => w.ledger.transferBatch([
      { from: 'carol', to: 'alice', amount: 5 },
      { from: 'alice', to: 'bob', amount: 10 },
    ] satisfies Transfer[])],
    ['deposit', (w, victim) => w.ledger.deposit({ id: victim, amount: 10 })],
  ];

  describe.each(operations)('%s', (_op, run) => {
    it.each(corruptions.flatMap(([name, corrupt]) => ['bob', 'alice'].map((victim) => [`${name} (${victim})`, corrupt, victim] as const)))(
      '%s → STORE_CORRUPTED, keyspace unchanged', async (_name, corrupt, victim) => {
      const wired = await wire(strategy);
      for (const id of ['alice', 'bob', 'carol']) await wired.ledger.open({ id, balance: 100 });
      await wired.ledger.transfer({ from: 'carol', to: 'bob', amount: 1 }); // histories exist as lists
      await corrupt(victim);
      const before = await keyspaceSnapshot(admin);

      const err = await rejectionOf(run(wired, victim));
      expect(await keyspaceSnapshot(admin)).toBe(before);
      expect(err).toBeInstanceOf(AtomicError);
      expect((err as AtomicError).code).toBe('STORE_CORRUPTED');
    });
  });
});
