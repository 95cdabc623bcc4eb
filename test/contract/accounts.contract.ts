import { isReplayed } from '@kernel/core';
import type { AccountsLedger, HistoryEntry, TransferReceipt } from '../../src/accounts/accounts.port';
import type { EventView } from '../../src/events/events.port';
import { LedgerFixture, uniqueIds } from '../support/accounts-fixture';

/** Limits the contract runs with; pass them to AccountsModule.forRoot in the fixture. */
export const CONTRACT_LIMITS = { maxBatch: 20, historyLimit: 10 };

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The Accounts ledger contract: one suite, run against every adapter (memory, functions, transactions).
 * A caller must not be able to tell the adapters apart except by speed.
 */
export function accountsContract(makeFixture: () => Promise<LedgerFixture>): void {
  let fixture: LedgerFixture;
  let ledger: AccountsLedger;

  beforeAll(async () => {
    fixture = await makeFixture();
    ledger = fixture.ledger;
  });
  afterAll(() => fixture.close());

  /** Everything observable about these accounts through the port, plus the raw keyspace for Redis. */
  async function snapshot(ids: string[]): Promise<unknown> {
    const accounts = await Promise.all(ids.map(async (id) => {
      const account = await ledger.get(id).catch((err) => err.code);
      const history = typeof account === 'string' ? [] : await allHistory(ledger, id);
      return { account, history };
    }));
    return { accounts, raw: await fixture.rawSnapshot?.() };
  }

  /** Asserts the operation fails with `code` (and `details`) and changes nothing at all. */
  async function expectRejectedUnchanged(ids: string[], operation: () => Promise<unknown>, code: string, details?: object) {
    const before = await snapshot(ids);
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details: expect.objectContaining(details) }) });
    expect(await snapshot(ids)).toEqual(before);
  }

  describe('open / get', () => {
    it('opens with a zero balance and floor by default', async () => {
      const [a] = uniqueIds('a');
      await expect(ledger.open({ id: a })).resolves.toEqual({ id: a, balance: 0, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 0 });
      await expect(ledger.get(a)).resolves.toEqual({ id: a, balance: 0, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 0 });
    });

    it('opens with an opening balance and an overdraft floor', async () => {
      const [a] = uniqueIds('a');
      await expect(ledger.open({ id: a, balance: 1234, minBalance: -500 })).resolves.toEqual({ id: a, balance: 1234, minBalance: -500, pendingDebits: 0, pendingCredits: 0, available: 1234 });
      await expect(ledger.get(a)).resolves.toEqual({ id: a, balance: 1234, minBalance: -500, pendingDebits: 0, pendingCredits: 0, available: 1234 });
    });

    it('keeps balances up to the largest safe integer exactly', async () => {
      const [a] = uniqueIds('a');
      await ledger.open({ id: a, balance: MAX, minBalance: -MAX });
      await expect(ledger.get(a)).resolves.toEqual({ id: a, balance: MAX, minBalance: -MAX, pendingDebits: 0, pendingCredits: 0, available: MAX });
    });

    it('refuses to open an existing account and leaves it as it was', async () => {
      const [a] = uniqueIds('a');
      await ledger.open({ id: a, balance: 10 });
      await expectRejectedUnchanged([a], () => ledger.open({ id: a, balance: 99 }), 'ACCOUNT_EXISTS');
    });

    it('says ACCOUNT_NOT_FOUND for an unknown account', async () => {
      const [a] = uniqueIds('a');
      await expect(ledger.get(a)).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    });

    it.each([
      ['a bad id', { id: 'a:b' }],
      ['an id with a hash tag', { id: 'a{b}' }],
      ['a 65-character id', { id: 'x'.repeat(65) }],
      ['a negative balance', { id: 'ok', balance: -1 }],
      ['a fractional balance', { id: 'ok', balance: 1.5 }],
      ['an unsafe balance', { id: 'ok', balance: MAX + 1 }],
      ['a string balance', { id: 'ok', balance: '10' as unknown as number }],
      ['a floor above the balance', { id: 'ok', balance: 5, minBalance: 6 }],
      ['an unsafe floor', { id: 'ok', minBalance: -MAX - 2 }],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, cmd) => {
      await expectRejectedUnchanged([], () => ledger.open(cmd), 'VALIDATION_FAILED');
      if (cmd.id === 'ok') await expect(ledger.get('ok')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    });
  });

  describe('deposit / withdraw', () => {
    it('deposits and withdraws, recording one history entry each', async () => {
      const [a] = uniqueIds('a');
      await ledger.open({ id: a, balance: 100 });
      await expect(ledger.deposit({ id: a, amount: 50 })).resolves.toEqual({ id: a, balance: 150 });
      await expect(ledger.withdraw({ id: a, amount: 30 })).resolves.toEqual({ id: a, balance: 120 });
      const { entries } = await ledger.history(a);
      expect(entries).toEqual([
        expect.objectContaining({ type: 'withdrawal', amount: -30, counterparty: null, balance: 120 }),
        expect.objectContaining({ type: 'deposit', amount: 50, counterparty: null, balance: 150 }),
      ]);
      expect(entries[0].transferId).not.toEqual(entries[1].transferId);
    });

    it('withdraws down to the floor exactly, and not one unit more', async () => {
      const [a] = uniqueIds('a');
      await ledger.open({ id: a, balance: 100, minBalance: -50 });
      await expect(ledger.withdraw({ id: a, amount: 150 })).resolves.toEqual({ id: a, balance: -50 });
      await expectRejectedUnchanged([a], () => ledger.withdraw({ id: a, amount: 1 }), 'INSUFFICIENT_FUNDS',
        { balance: -50, floor: -50 });
    });

    it('refuses a deposit past the largest safe integer', async () => {
      const [a] = uniqueIds('a');
      await ledger.open({ id: a, balance: MAX - 1 });
      await expectRejectedUnchanged([a], () => ledger.deposit({ id: a, amount: 2 }), 'BALANCE_LIMIT_EXCEEDED');
      await expect(ledger.deposit({ id: a, amount: 1 })).resolves.toEqual({ id: a, balance: MAX });
    });

    it('says ACCOUNT_NOT_FOUND and creates nothing', async () => {
      const [a] = uniqueIds('a');
      await expectRejectedUnchanged([a], () => ledger.deposit({ id: a, amount: 5 }), 'ACCOUNT_NOT_FOUND');
      await expectRejectedUnchanged([a], () => ledger.withdraw({ id: a, amount: 5 }), 'ACCOUNT_NOT_FOUND');
    });

    it.each([0, -5, 1.5, MAX + 1, 1e21, NaN, '5' as unknown as number, null as unknown as number])(
      'refuses the amount %p with VALIDATION_FAILED', async (amount) => {
        const [a] = uniqueIds('a');
        await ledger.open({ id: a, balance: 100 });
        await expectRejectedUnchanged([a], () => ledger.deposit({ id: a, amount }), 'VALIDATION_FAILED');
        await expectRejectedUnchanged([a], () => ledger.withdraw({ id: a, amount }), 'VALIDATION_FAILED');
      });
  });

  describe('transfer', () => {
    it('moves money and returns both balances with the transfer id and server time', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 1000 });
      await ledger.open({ id: b, balance: 5 });
      const before = Date.now();
      const receipt = await ledger.transfer({ from: a, to: b, amount: 300 });
      expect(receipt).toEqual({ id: expect.any(String), from: { id: a, balance: 700 }, to: { id: b, balance: 305 }, amount: 300, at: expect.any(String) });
      expect(Math.abs(Date.parse(receipt.at) - before)).toBeLessThan(60_000); // a server clock, not a constant
      await expect(ledger.get(a)).resolves.toMatchObject({ balance: 700 });
      await expect(ledger.get(b)).resolves.toMatchObject({ balance: 305 });
    });

    it('records one history entry per account in the same step', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 1000 });
      await ledger.open({ id: b });
      const receipt = await ledger.transfer({ from: a, to: b, amount: 250 });
      const entry = (type: string, amount: number, counterparty: string, balance: number): HistoryEntry =>
        ({ transferId: receipt.id, type, amount, counterparty, balance, at: receipt.at }) as HistoryEntry;
      expect((await ledger.history(a)).entries).toEqual([entry('transfer_out', -250, b, 750)]);
      expect((await ledger.history(b)).entries).toEqual([entry('transfer_in', 250, a, 250)]);
    });

    it('enforces the account floor, allowing an overdraft down to it', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100, minBalance: -100 });
      await ledger.open({ id: b });
      await expect(ledger.transfer({ from: a, to: b, amount: 200 })).resolves.toMatchObject({ from: { balance: -100 } });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 1 }), 'INSUFFICIENT_FUNDS',
        { account: a, balance: -100, floor: -100 });
    });

    it('enforces a request minBalance above the floor, and never lowers the floor', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 60, minBalance: 50 }),
        'INSUFFICIENT_FUNDS', { account: a, balance: 100, floor: 50 });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 101, minBalance: -1000 }),
        'INSUFFICIENT_FUNDS', { floor: 0 });
      await expect(ledger.transfer({ from: a, to: b, amount: 50, minBalance: 50 })).resolves.toMatchObject({ from: { balance: 50 } });
    });

    it('says which account is missing, and writes nothing', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 1 }), 'ACCOUNT_NOT_FOUND', { account: b });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: b, to: a, amount: 1 }), 'ACCOUNT_NOT_FOUND', { account: b });
    });

    it('refuses to push the target past the largest safe integer', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 10 });
      await ledger.open({ id: b, balance: MAX - 5 });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 6 }), 'BALANCE_LIMIT_EXCEEDED', { account: b });
    });

    it.each([
      ['from = to', (a: string) => ({ from: a, to: a, amount: 1 })],
      ['a zero amount', (a: string, b: string) => ({ from: a, to: b, amount: 0 })],
      ['a negative amount', (a: string, b: string) => ({ from: a, to: b, amount: -1 })],
      ['an unsafe amount', (a: string, b: string) => ({ from: a, to: b, amount: 2 ** 53 })],
      ['a fractional minBalance', (a: string, b: string) => ({ from: a, to: b, amount: 1, minBalance: 0.5 })],
      ['a bad id', (a: string) => ({ from: a, to: 'x*', amount: 1 })],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, make) => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await expectRejectedUnchanged([a, b], () => ledger.transfer(make(a, b)), 'VALIDATION_FAILED');
    });
  });

  describe('transferBatch', () => {
    it('applies transfers in order: later items see earlier ones', async () => {
      const [a, b, c] = uniqueIds('a', 'b', 'c');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await ledger.open({ id: c });
      const receipts = await ledger.transferBatch([
        { from: a, to: b, amount: 100 },
        { from: b, to: c, amount: 60 },
        { from: c, to: a, amount: 10 },
      ]);
      expect(receipts.map((r) => [r.from, r.to])).toEqual([
        [{ id: a, balance: 0 }, { id: b, balance: 100 }],
        [{ id: b, balance: 40 }, { id: c, balance: 60 }],
        [{ id: c, balance: 50 }, { id: a, balance: 10 }],
      ]);
      expect(new Set(receipts.map((r) => r.id)).size).toBe(3);
      const balances = await Promise.all([a, b, c].map(async (id) => (await ledger.get(id)).balance));
      expect(balances).toEqual([10, 40, 50]);
      const history = await allHistory(ledger, b);
      expect(history.map((e) => [e.type, e.amount, e.balance])).toEqual([['transfer_out', -60, 40], ['transfer_in', 100, 100]]);
    });

    it('is all or nothing, and names the failing item', async () => {
      const [a, b, c] = uniqueIds('a', 'b', 'c');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await ledger.open({ id: c });
      await expectRejectedUnchanged([a, b, c], () => ledger.transferBatch([
        { from: a, to: b, amount: 50 },
        { from: b, to: c, amount: 50 },
        { from: b, to: c, amount: 1 },
      ]), 'INSUFFICIENT_FUNDS', { index: 2, account: b, balance: 0 });
      await expectRejectedUnchanged([a, b, c], () => ledger.transferBatch([
        { from: a, to: b, amount: 1 },
        { from: c, to: `${c}x`, amount: 1 },
      ]), 'ACCOUNT_NOT_FOUND', { index: 1, account: `${c}x` });
    });

    it.each([
      ['an empty batch', () => []],
      ['a batch over maxBatch', (a: string, b: string) => Array.from({ length: CONTRACT_LIMITS.maxBatch + 1 }, () => ({ from: a, to: b, amount: 1 }))],
      ['an invalid item', (a: string, b: string) => [{ from: a, to: b, amount: 1 }, { from: a, to: b, amount: 0 }]],
      ['not an array', () => ({}) as never],
    ])('refuses %s with VALIDATION_FAILED', async (_, make) => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await expectRejectedUnchanged([a, b], () => ledger.transferBatch(make(a, b)), 'VALIDATION_FAILED');
    });

    it('accepts a batch of exactly maxBatch items', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      const receipts = await ledger.transferBatch(Array.from({ length: CONTRACT_LIMITS.maxBatch }, () => ({ from: a, to: b, amount: 1 })));
      expect(receipts[receipts.length - 1].from.balance).toBe(100 - CONTRACT_LIMITS.maxBatch);
    });
  });

  describe('idempotency keys', () => {
    const key = () => `key ${uniqueIds('k')[0]} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`; // any printable ASCII

    it.each([
      ['open', (l: AccountsLedger, [, , c]: string[], k: string) => l.open({ id: c, balance: 5 }, { idempotencyKey: k })],
      ['deposit', (l: AccountsLedger, [a]: string[], k: string) => l.deposit({ id: a, amount: 7 }, { idempotencyKey: k })],
      ['withdraw', (l: AccountsLedger, [a]: string[], k: string) => l.withdraw({ id: a, amount: 7 }, { idempotencyKey: k })],
      ['transfer', (l: AccountsLedger, [a, b]: string[], k: string) => l.transfer({ from: a, to: b, amount: 9 }, { idempotencyKey: k })],
      ['transferBatch', (l: AccountsLedger, [a, b]: string[], k: string) =>
        l.transferBatch([{ from: a, to: b, amount: 9 }, { from: b, to: a, amount: 4 }], { idempotencyKey: k })],
    ])('%s: a retry with the same key replays the first result and changes nothing', async (_, write) => {
      const ids = uniqueIds('a', 'b', 'c');
      await ledger.open({ id: ids[0], balance: 100 });
      await ledger.open({ id: ids[1] });
      const k = key();
      const first = await write(ledger, ids, k);
      expect(isReplayed(first)).toBe(false);
      const after = await snapshot(ids);
      const again = await write(ledger, ids, k);
      expect(again).toEqual(first); // same ids, balances and time
      expect(isReplayed(again)).toBe(true);
      expect(await snapshot(ids)).toEqual(after);
    });

    it('refuses the same key with a different request, writing nothing', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      const k = key();
      await ledger.transfer({ from: a, to: b, amount: 10 }, { idempotencyKey: k });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 11 }, { idempotencyKey: k }),
        'IDEMPOTENCY_KEY_MISMATCH');
      await expectRejectedUnchanged([a, b], () => ledger.deposit({ id: a, amount: 10 }, { idempotencyKey: k }),
        'IDEMPOTENCY_KEY_MISMATCH');
    });

    it('stores and replays a business rejection, even once it would succeed', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 5 });
      await ledger.open({ id: b });
      const k = key();
      const first = await ledger.transfer({ from: a, to: b, amount: 50 }, { idempotencyKey: k }).catch((e) => e);
      expect(first).toMatchObject({ code: 'INSUFFICIENT_FUNDS', replayed: false, details: { balance: 5 } });
      await ledger.deposit({ id: a, amount: 100 });
      const again = await ledger.transfer({ from: a, to: b, amount: 50 }, { idempotencyKey: k }).catch((e) => e);
      expect(again).toMatchObject({ code: 'INSUFFICIENT_FUNDS', replayed: true, message: first.message, details: first.details });
      await expect(ledger.get(a)).resolves.toMatchObject({ balance: 105 });
    });

    it('does not store validation failures: the key stays free for the corrected request', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      const k = key();
      await expect(ledger.transfer({ from: a, to: b, amount: 0 }, { idempotencyKey: k })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(ledger.transfer({ from: a, to: b, amount: 1 }, { idempotencyKey: k })).resolves.toMatchObject({ from: { balance: 99 } });
    });

    it.each(['', 'x'.repeat(256), 'café', 'a\nb', 'tab\there', 42 as unknown as string])('refuses the key %j', async (k) => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await expectRejectedUnchanged([a, b], () => ledger.transfer({ from: a, to: b, amount: 1 }, { idempotencyKey: k }), 'VALIDATION_FAILED');
    });

    it('accepts a 255-character key', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await expect(ledger.transfer({ from: a, to: b, amount: 1 }, { idempotencyKey: `${uniqueIds('k')[0]}${'~'.repeat(245)}`.slice(0, 255) })).resolves.toBeDefined();
    });

    it('applies ten concurrent requests with one key exactly once; the others replay it', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 1000 });
      await ledger.open({ id: b });
      const k = key();
      const outcomes = await Promise.all(Array.from({ length: 10 }, () =>
        ledger.transfer({ from: a, to: b, amount: 100 }, { idempotencyKey: k }).catch((e) => e)));
      const receipts = outcomes.filter((o) => !(o instanceof Error));
      const errors = outcomes.filter((o) => o instanceof Error);
      expect(errors.every((e) => (e as { code?: string }).code === 'IDEMPOTENCY_KEY_IN_PROGRESS')).toBe(true);
      expect(receipts.length).toBeGreaterThan(0);
      for (const r of receipts) expect(r).toEqual(receipts[0]);
      expect(receipts.filter((r) => !isReplayed(r))).toHaveLength(1);
      await expect(ledger.get(a)).resolves.toMatchObject({ balance: 900 });
      expect(await allHistory(ledger, a)).toHaveLength(1);
    });

    it('keeps keys of one ledger apart from plain writes: a key-less retry is a second effect', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await ledger.transfer({ from: a, to: b, amount: 10 });
      await ledger.transfer({ from: a, to: b, amount: 10 });
      await expect(ledger.get(a)).resolves.toMatchObject({ balance: 80 });
    });
  });

  describe('history', () => {
    it('pages newest first with a cursor, every entry exactly once', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      for (let i = 1; i <= 7; i++) await ledger.transfer({ from: a, to: b, amount: i });
      const first = await ledger.history(a, { limit: 3 });
      expect(first.entries.map((e) => e.amount)).toEqual([-7, -6, -5]);
      expect(first.next).toEqual(expect.any(String));
      const second = await ledger.history(a, { limit: 3, cursor: first.next! });
      expect(second.entries.map((e) => e.amount)).toEqual([-4, -3, -2]);
      const third = await ledger.history(a, { limit: 3, cursor: second.next! });
      expect(third).toEqual({ entries: [expect.objectContaining({ amount: -1, balance: 99 })], next: null });
      expect((await ledger.history(a, { limit: 7 })).next).toBeNull();
    });

    it('keeps only the newest historyLimit entries per account', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 1000 });
      await ledger.open({ id: b });
      const total = CONTRACT_LIMITS.historyLimit + 4;
      for (let i = 1; i <= total; i++) await ledger.transfer({ from: a, to: b, amount: i });
      const entries = await allHistory(ledger, a);
      expect(entries.map((e) => -e.amount)).toEqual(Array.from({ length: CONTRACT_LIMITS.historyLimit }, (_, i) => total - i));
    });

    it('says ACCOUNT_NOT_FOUND for an unknown account', async () => {
      const [a] = uniqueIds('a');
      await expect(ledger.history(a)).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    });

    it.each([{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { cursor: 'abc' }, { cursor: '+' }, { cursor: '(1-0' }])(
      'refuses the query %j with VALIDATION_FAILED', async (query) => {
        const [a] = uniqueIds('a');
        await ledger.open({ id: a });
        await expect(ledger.history(a, query)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      });
  });

  describe('event log', () => {
    /** Runs `operation` and returns the events it appended to the ledger's stream. */
    async function appended(operation: () => Promise<unknown>): Promise<EventView[]> {
      const mark = await fixture.lastEventId();
      await operation();
      return fixture.events(mark);
    }

    /** Runs an operation that must fail with `code`, and checks it appended nothing. */
    async function rejectedWithoutEvent(operation: () => Promise<unknown>, code: string): Promise<void> {
      const mark = await fixture.lastEventId();
      await expect(operation()).rejects.toMatchObject({ code });
      expect(await fixture.events(mark)).toEqual([]);
    }

    const event = (type: string, data: object) =>
      ({ id: expect.stringMatching(/^\d+-\d+$/), type, at: expect.stringMatching(/Z$/), data });

    it('open, deposit and withdraw each append one event with the ids, amounts and resulting balance', async () => {
      const [a] = uniqueIds('a');
      const started = Date.now();
      expect(await appended(() => ledger.open({ id: a, balance: MAX - 10, minBalance: -5 })))
        .toEqual([event('account.opened', { account: a, balance: MAX - 10, floor: -5 })]);
      const [deposited] = await appended(() => ledger.deposit({ id: a, amount: 10 }));
      expect(deposited).toEqual(event('account.deposited', { id: expect.any(String), account: a, amount: 10, balance: MAX }));
      expect(Date.parse(deposited.at)).toBeGreaterThanOrEqual(started - 1000);
      expect(Date.parse(deposited.at)).toBeLessThanOrEqual(Date.now() + 1000);
      expect(await appended(() => ledger.withdraw({ id: a, amount: MAX })))
        .toEqual([event('account.withdrawn', { id: expect.any(String), account: a, amount: MAX, balance: 0 })]);
    });

    it('a transfer appends one transfer.completed with both balances after it', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b, balance: 1 });
      let receipt: TransferReceipt | undefined;
      const events = await appended(async () => (receipt = await ledger.transfer({ from: a, to: b, amount: 30 })));
      expect(events).toEqual([event('transfer.completed', { id: receipt!.id, from: a, to: b, amount: 30, fromBalance: 70, toBalance: 31 })]);
      // The same server clock; a MULTI's EXEC (which stamps the entry) may come a few ms after the read of TIME.
      expect(Date.parse(events[0].at) - Date.parse(receipt!.at)).toBeGreaterThanOrEqual(0);
      expect(Date.parse(events[0].at) - Date.parse(receipt!.at)).toBeLessThan(1000);
    });

    it('a batch appends ONE transfer.batch_completed listing every item in order with the balances after it', async () => {
      const [a, b, c] = uniqueIds('a', 'b', 'c');
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      await ledger.open({ id: c });
      let receipts: TransferReceipt[] = [];
      const events = await appended(async () => (receipts = await ledger.transferBatch([
        { from: a, to: b, amount: 60 }, { from: b, to: c, amount: 50 }, { from: c, to: a, amount: 5 },
      ])));
      expect(events).toEqual([event('transfer.batch_completed', { transfers: [
        { id: receipts[0].id, from: a, to: b, amount: 60, fromBalance: 40, toBalance: 60 },
        { id: receipts[1].id, from: b, to: c, amount: 50, fromBalance: 10, toBalance: 50 },
        { id: receipts[2].id, from: c, to: a, amount: 5, fromBalance: 45, toBalance: 45 },
      ] })]);
    });

    it('failed operations and validation errors append nothing', async () => {
      const [a, b, missing] = uniqueIds('a', 'b', 'missing');
      await ledger.open({ id: a, balance: 10 });
      await ledger.open({ id: b, balance: MAX });
      await rejectedWithoutEvent(() => ledger.open({ id: a }), 'ACCOUNT_EXISTS');
      await rejectedWithoutEvent(() => ledger.deposit({ id: missing, amount: 1 }), 'ACCOUNT_NOT_FOUND');
      await rejectedWithoutEvent(() => ledger.deposit({ id: b, amount: 1 }), 'BALANCE_LIMIT_EXCEEDED');
      await rejectedWithoutEvent(() => ledger.withdraw({ id: a, amount: 11 }), 'INSUFFICIENT_FUNDS');
      await rejectedWithoutEvent(() => ledger.transfer({ from: a, to: missing, amount: 1 }), 'ACCOUNT_NOT_FOUND');
      await rejectedWithoutEvent(() => ledger.transfer({ from: a, to: b, amount: 1 }), 'BALANCE_LIMIT_EXCEEDED');
      await rejectedWithoutEvent(() => ledger.transferBatch([{ from: b, to: a, amount: 5 }, { from: a, to: b, amount: 100 }]),
        'INSUFFICIENT_FUNDS');
      await rejectedWithoutEvent(() => ledger.deposit({ id: a, amount: -1 }), 'VALIDATION_FAILED');
      await rejectedWithoutEvent(() => ledger.transferBatch([]), 'VALIDATION_FAILED');
    });

    it('an idempotent replay (of a success or of a failure) appends nothing', async () => {
      const [a, b] = uniqueIds('a', 'b');
      await ledger.open({ id: a, balance: 10 });
      await ledger.open({ id: b });
      const [k1, k2] = uniqueIds('k1', 'k2');
      expect(await appended(() => ledger.transfer({ from: a, to: b, amount: 4 }, { idempotencyKey: k1 }))).toHaveLength(1);
      expect(await appended(() => ledger.transfer({ from: a, to: b, amount: 4 }, { idempotencyKey: k1 }))).toEqual([]);
      await rejectedWithoutEvent(() => ledger.withdraw({ id: a, amount: 100 }, { idempotencyKey: k2 }), 'INSUFFICIENT_FUNDS');
      await ledger.deposit({ id: a, amount: 1000 });
      await rejectedWithoutEvent(() => ledger.withdraw({ id: a, amount: 100 }, { idempotencyKey: k2 }), 'INSUFFICIENT_FUNDS');
      await rejectedWithoutEvent(() => ledger.transfer({ from: a, to: b, amount: 5 }, { idempotencyKey: k1 }),
        'IDEMPOTENCY_KEY_MISMATCH');
    });

    it('pages with after (exclusive) and limit, every event exactly once', async () => {
      const [a] = uniqueIds('a');
      const mark = await fixture.lastEventId();
      await ledger.open({ id: a });
      for (let i = 1; i <= 5; i++) await ledger.deposit({ id: a, amount: i });
      const all = await fixture.events(mark);
      expect(all.map((e) => e.type)).toEqual(['account.opened', ...Array(5).fill('account.deposited')]);
      expect(all.map((e) => e.data.balance)).toEqual([0, 1, 3, 6, 10, 15]);
      expect(new Set(all.map((e) => e.id)).size).toBe(6);
    });
  });
}

/** Every history entry of an account, walking all pages. */
export async function allHistory(ledger: AccountsLedger, id: string): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await ledger.history(id, { limit: 100, cursor });
    entries.push(...page.entries);
    cursor = page.next ?? undefined;
  } while (cursor);
  return entries;
}
