import { isReplayed } from '@kernel/core';
import type { AccountsLedger, PendingTransfer, TransferReceipt } from '../../src/accounts/accounts.port';
import type { EventView } from '../../src/events/events.port';
import { LedgerFixture, uniqueIds } from '../support/accounts-fixture';
import { allHistory } from './accounts.contract';

const MAX = Number.MAX_SAFE_INTEGER;

/** Polls `check` until it holds (bounded, so a broken adapter fails instead of hanging). Not a timing assertion. */
export async function eventually(check: () => Promise<boolean>, what: string, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * Two-phase transfers: one suite, run against every adapter. Every transition and every refusal; a refusal
 * changes nothing observable (accounts, histories, pending transfers, and the raw keyspace on Redis).
 */
export function pendingContract(makeFixture: () => Promise<LedgerFixture>): void {
  let fixture: LedgerFixture;
  let ledger: AccountsLedger;

  beforeAll(async () => {
    fixture = await makeFixture();
    ledger = fixture.ledger;
  });
  afterAll(() => fixture.close());

  async function snapshot(accounts: string[], transfers: string[] = []): Promise<unknown> {
    return {
      accounts: await Promise.all(accounts.map(async (id) => ({ account: await ledger.get(id), history: await allHistory(ledger, id) }))),
      transfers: await Promise.all(transfers.map((id) => ledger.getTransfer(id).catch((err) => err.code))),
      raw: await fixture.rawSnapshot?.(),
    };
  }

  async function expectRejectedUnchanged(accounts: string[], transfers: string[], operation: () => Promise<unknown>, code: string,
    details?: object) {
    const before = await snapshot(accounts, transfers);
    const mark = await fixture.lastEventId();
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details: expect.objectContaining(details) }) });
    expect(await snapshot(accounts, transfers)).toEqual(before);
    expect(await fixture.events(mark)).toEqual([]);
  }

  async function appended(operation: () => Promise<unknown>): Promise<EventView[]> {
    const mark = await fixture.lastEventId();
    await operation();
    return fixture.events(mark);
  }

  async function open(balances: number[], floors: number[] = []): Promise<string[]> {
    const ids = uniqueIds(...balances.map((_, i) => `p${i}`));
    for (const [i, id] of ids.entries()) await ledger.open({ id, balance: balances[i], minBalance: floors[i] ?? 0 });
    return ids;
  }

  const hold = (from: string, to: string, amount: number, timeoutSeconds = 3600, minBalance?: number) =>
    ledger.transfer({ from, to, amount, pending: true, timeoutSeconds, ...(minBalance !== undefined && { minBalance }) });

  const position = (balance: number, pendingDebits: number, pendingCredits: number) =>
    expect.objectContaining({ balance, pendingDebits, pendingCredits, available: balance - pendingDebits });

  it('a pending transfer reserves: balances stay, pendingDebits and pendingCredits grow, available shrinks', async () => {
    const [a, b] = await open([100, 5], [-20]);
    let receipt: TransferReceipt | undefined;
    const events = await appended(async () => (receipt = await hold(a, b, 70, 60)));
    expect(receipt).toEqual({ id: expect.any(String), from: { id: a, balance: 100 }, to: { id: b, balance: 5 }, amount: 70,
      at: expect.any(String), status: 'pending', expiresAt: expect.any(String) });
    expect(Date.parse(receipt!.expiresAt!) - Date.parse(receipt!.at)).toBe(60_000);
    expect(await ledger.get(a)).toEqual({ id: a, balance: 100, minBalance: -20, pendingDebits: 70, pendingCredits: 0, available: 30 });
    expect(await ledger.get(b)).toEqual({ id: b, balance: 5, minBalance: 0, pendingDebits: 0, pendingCredits: 70, available: 5 });
    expect(await ledger.getTransfer(receipt!.id)).toEqual({ id: receipt!.id, from: a, to: b, amount: 70, status: 'pending',
      createdAt: receipt!.at, expiresAt: receipt!.expiresAt });
    expect((await ledger.history(a)).entries[0]).toEqual({ transferId: receipt!.id, type: 'pending_out', amount: -70, counterparty: b,
      balance: 100, at: receipt!.at });
    expect((await ledger.history(b)).entries[0]).toEqual({ transferId: receipt!.id, type: 'pending_in', amount: 70, counterparty: a,
      balance: 5, at: receipt!.at });
    expect(events).toEqual([expect.objectContaining({ type: 'transfer.pending',
      data: { id: receipt!.id, from: a, to: b, amount: 70, expiresAt: Date.parse(receipt!.expiresAt!) } })]);
  });

  it('reserves down to the floor of available, and not one unit more; the request minBalance applies to available', async () => {
    const [a, b] = await open([100, 0], [-20]);
    const first = await hold(a, b, 60);
    await expectRejectedUnchanged([a, b], [first.id], () => hold(a, b, 61), 'INSUFFICIENT_FUNDS',
      { account: a, balance: 100, available: 40, floor: -20 });
    await expectRejectedUnchanged([a, b], [first.id], () => hold(a, b, 31, 60, 10), 'INSUFFICIENT_FUNDS', { available: 40, floor: 10 });
    await hold(a, b, 60);
    expect(await ledger.get(a)).toEqual(position(100, 120, 0));
    expect((await ledger.get(a)).available).toBe(-20);
  });

  it('withdrawals and plain transfers respect available, not just the balance', async () => {
    const [a, b] = await open([100, 0]);
    const pending = await hold(a, b, 80);
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.withdraw({ id: a, amount: 21 }), 'INSUFFICIENT_FUNDS',
      { balance: 100, available: 20, floor: 0 });
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.transfer({ from: a, to: b, amount: 21 }), 'INSUFFICIENT_FUNDS',
      { account: a, balance: 100, available: 20 });
    await expect(ledger.withdraw({ id: a, amount: 20 })).resolves.toEqual({ id: a, balance: 80 });
    // The reservation can still be posted in full: the floor holds after it.
    await ledger.postTransfer({ id: pending.id });
    expect(await ledger.get(a)).toEqual(position(0, 0, 0));
  });

  it('keeps balance + pendingCredits within the safe-integer range (BALANCE_LIMIT_EXCEEDED)', async () => {
    const [a, b] = await open([MAX, MAX - 10], [-MAX]);
    await expectRejectedUnchanged([a, b], [], () => hold(a, b, 11), 'BALANCE_LIMIT_EXCEEDED', { account: b });
    const pending = await hold(a, b, 6);
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.deposit({ id: b, amount: 5 }), 'BALANCE_LIMIT_EXCEEDED');
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.transfer({ from: a, to: b, amount: 5 }), 'BALANCE_LIMIT_EXCEEDED',
      { account: b });
    await ledger.postTransfer({ id: pending.id });
    expect(await ledger.get(b)).toEqual(position(MAX - 4, 0, 0));
  });

  it('post moves the whole amount, clears the reservation and records post entries and transfer.posted', async () => {
    const [a, b] = await open([100, 10]);
    const pending = await hold(a, b, 30);
    let posted: PendingTransfer | undefined;
    const events = await appended(async () => (posted = await ledger.postTransfer({ id: pending.id })));
    expect(posted).toEqual({ id: pending.id, from: a, to: b, amount: 30, status: 'posted', postedAmount: 30, createdAt: pending.at,
      expiresAt: pending.expiresAt, resolvedAt: expect.any(String) });
    expect(await ledger.getTransfer(pending.id)).toEqual(posted);
    expect(await ledger.get(a)).toEqual(position(70, 0, 0));
    expect(await ledger.get(b)).toEqual(position(40, 0, 0));
    expect((await ledger.history(a)).entries.map((e) => [e.type, e.amount, e.balance])).toEqual([['post_out', -30, 70], ['pending_out', -30, 100]]);
    expect((await ledger.history(b)).entries.map((e) => [e.type, e.amount, e.balance])).toEqual([['post_in', 30, 40], ['pending_in', 30, 10]]);
    expect(events).toEqual([expect.objectContaining({ type: 'transfer.posted',
      data: { id: pending.id, from: a, to: b, amount: 30, released: 0, fromBalance: 70, toBalance: 40 } })]);
  });

  it('post with a smaller amount moves only that and releases the rest', async () => {
    const [a, b] = await open([100, 0]);
    const pending = await hold(a, b, 30);
    const other = await hold(a, b, 5);
    const events = await appended(() => ledger.postTransfer({ id: pending.id, amount: 12 }));
    expect(await ledger.getTransfer(pending.id)).toMatchObject({ status: 'posted', amount: 30, postedAmount: 12 });
    expect(await ledger.get(a)).toEqual(position(88, 5, 0));
    expect(await ledger.get(b)).toEqual(position(12, 0, 5));
    expect(events[0].data).toEqual({ id: pending.id, from: a, to: b, amount: 12, released: 18, fromBalance: 88, toBalance: 12 });
    expect((await ledger.getTransfer(other.id)).status).toBe('pending');
  });

  it('void releases the whole reservation; balances never moved', async () => {
    const [a, b] = await open([100, 0]);
    const pending = await hold(a, b, 30);
    let voided: PendingTransfer | undefined;
    const events = await appended(async () => (voided = await ledger.voidTransfer({ id: pending.id })));
    expect(voided).toEqual({ id: pending.id, from: a, to: b, amount: 30, status: 'voided', createdAt: pending.at,
      expiresAt: pending.expiresAt, resolvedAt: expect.any(String) });
    expect(await ledger.get(a)).toEqual(position(100, 0, 0));
    expect(await ledger.get(b)).toEqual(position(0, 0, 0));
    expect((await ledger.history(a)).entries.map((e) => [e.type, e.amount, e.balance])).toEqual([['void_out', 30, 100], ['pending_out', -30, 100]]);
    expect((await ledger.history(b)).entries.map((e) => [e.type, e.amount, e.balance])).toEqual([['void_in', -30, 0], ['pending_in', 30, 0]]);
    expect(events).toEqual([expect.objectContaining({ type: 'transfer.voided', data: { id: pending.id, from: a, to: b, amount: 30 } })]);
  });

  it('resolves exactly once: every second resolution is refused with its typed code, changing nothing', async () => {
    const [a, b] = await open([100, 0]);
    const posted = await hold(a, b, 10);
    const voided = await hold(a, b, 20);
    await ledger.postTransfer({ id: posted.id });
    await ledger.voidTransfer({ id: voided.id });
    const ids = [posted.id, voided.id];
    await expectRejectedUnchanged([a, b], ids, () => ledger.postTransfer({ id: posted.id }), 'PENDING_TRANSFER_ALREADY_POSTED');
    await expectRejectedUnchanged([a, b], ids, () => ledger.voidTransfer({ id: posted.id }), 'PENDING_TRANSFER_ALREADY_POSTED');
    await expectRejectedUnchanged([a, b], ids, () => ledger.postTransfer({ id: voided.id }), 'PENDING_TRANSFER_ALREADY_VOIDED');
    await expectRejectedUnchanged([a, b], ids, () => ledger.voidTransfer({ id: voided.id }), 'PENDING_TRANSFER_ALREADY_VOIDED');
  });

  it('refuses to post more than was reserved, and an unknown id, changing nothing', async () => {
    const [a, b] = await open([100, 0]);
    const pending = await hold(a, b, 10);
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.postTransfer({ id: pending.id, amount: 11 }),
      'PENDING_TRANSFER_AMOUNT_EXCEEDED', { pending: 10 });
    const [missing] = uniqueIds('missing');
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.postTransfer({ id: missing }), 'PENDING_TRANSFER_NOT_FOUND');
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.voidTransfer({ id: missing }), 'PENDING_TRANSFER_NOT_FOUND');
    await expect(ledger.getTransfer(missing)).rejects.toMatchObject({ code: 'PENDING_TRANSFER_NOT_FOUND' });
    // A plain transfer is no pending transfer.
    const plain = await ledger.transfer({ from: a, to: b, amount: 1 });
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.postTransfer({ id: plain.id }), 'PENDING_TRANSFER_NOT_FOUND');
  });

  it.each([
    ['pending without timeoutSeconds', { pending: true }],
    ['a timeout of 0', { pending: true, timeoutSeconds: 0 }],
    ['a fractional timeout', { pending: true, timeoutSeconds: 1.5 }],
    ['a timeout past 2^32 - 1', { pending: true, timeoutSeconds: 2 ** 32 }],
    ['timeoutSeconds without pending', { timeoutSeconds: 5 }],
    ['pending as a string', { pending: 'true', timeoutSeconds: 5 }],
  ])('refuses %s with VALIDATION_FAILED, writing nothing', async (_, extra) => {
    const [a, b] = await open([100, 0]);
    await expectRejectedUnchanged([a, b], [], () => ledger.transfer({ from: a, to: b, amount: 1, ...extra } as never), 'VALIDATION_FAILED');
    await expectRejectedUnchanged([a, b], [], () => ledger.transferBatch([{ from: a, to: b, amount: 1, ...extra } as never]),
      'VALIDATION_FAILED');
  });

  it('refuses a post amount of 0 or a bad id with VALIDATION_FAILED', async () => {
    const [a, b] = await open([100, 0]);
    const pending = await hold(a, b, 10);
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.postTransfer({ id: pending.id, amount: 0 }), 'VALIDATION_FAILED');
    await expectRejectedUnchanged([a, b], [pending.id], () => ledger.voidTransfer({ id: 'a:b' }), 'VALIDATION_FAILED');
    await expect(ledger.sweepExpired(0)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(ledger.sweepExpired(1001)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('expiry: past its deadline a reservation reads expired and can be neither posted nor voided; the sweep releases it once', async () => {
    const [a, b] = await open([100, 0]);
    const short = await hold(a, b, 10, 1);
    const long = await hold(a, b, 20, 3600);
    await eventually(async () => (await ledger.getTransfer(short.id)).status === 'expired', 'the 1 s reservation reads expired');
    expect(await ledger.getTransfer(short.id)).toEqual({ id: short.id, from: a, to: b, amount: 10, status: 'expired', createdAt: short.at,
      expiresAt: short.expiresAt });
    const ids = [short.id, long.id];
    await expectRejectedUnchanged([a, b], ids, () => ledger.postTransfer({ id: short.id }), 'PENDING_TRANSFER_EXPIRED');
    await expectRejectedUnchanged([a, b], ids, () => ledger.voidTransfer({ id: short.id }), 'PENDING_TRANSFER_EXPIRED');
    expect(await ledger.get(a)).toEqual(position(100, 30, 0)); // not yet released

    let swept: string[] = [];
    const events = await appended(async () => {
      for (let round = 0; round < 100 && !swept.includes(short.id); round++) swept = swept.concat((await ledger.sweepExpired(1000)).expired);
    });
    expect(swept).toContain(short.id);
    expect(swept).not.toContain(long.id);
    expect(events.filter((e) => e.data.id === short.id)).toEqual([expect.objectContaining({ type: 'transfer.expired',
      data: { id: short.id, from: a, to: b, amount: 10 } })]);
    expect(await ledger.get(a)).toEqual(position(100, 20, 0));
    expect(await ledger.get(b)).toEqual(position(0, 0, 20));
    expect(await ledger.getTransfer(short.id)).toMatchObject({ status: 'expired', resolvedAt: expect.any(String) });
    expect((await ledger.history(a)).entries[0]).toMatchObject({ transferId: short.id, type: 'expire_out', amount: 10, balance: 100 });
    expect((await ledger.history(b)).entries[0]).toMatchObject({ transferId: short.id, type: 'expire_in', amount: -10, balance: 0 });

    // Idempotent: sweeping again releases nothing of ours; the resolution stays final.
    expect((await ledger.sweepExpired(1000)).expired).not.toContain(short.id);
    await expectRejectedUnchanged([a, b], ids, () => ledger.postTransfer({ id: short.id }), 'PENDING_TRANSFER_EXPIRED');
    await expectRejectedUnchanged([a, b], ids, () => ledger.voidTransfer({ id: short.id }), 'PENDING_TRANSFER_EXPIRED');
    expect((await ledger.getTransfer(long.id)).status).toBe('pending');
  });

  it('sweeps in bounded batches, oldest deadline first', async () => {
    const [a, b] = await open([100, 0]);
    const holds = [await hold(a, b, 1, 1), await hold(a, b, 2, 1), await hold(a, b, 3, 1)];
    await eventually(async () => (await ledger.getTransfer(holds[2].id)).status === 'expired', 'all three read expired');
    const first = await ledger.sweepExpired(2);
    expect(first.expired).toHaveLength(2);
    const swept = [...first.expired];
    for (let round = 0; round < 100 && !holds.every((h) => swept.includes(h.id)); round++) swept.push(...(await ledger.sweepExpired(2)).expired);
    expect(holds.map((h) => swept.includes(h.id))).toEqual([true, true, true]);
    expect(await ledger.get(a)).toEqual(position(100, 0, 0));
  });

  it('Idempotency-Key: a keyed hold, post and void replay their first outcome (refusals too); another request is a mismatch', async () => {
    const [a, b] = await open([100, 0]);
    const [k1, k2, k3, k4] = uniqueIds('k1', 'k2', 'k3', 'k4');
    const first = await ledger.transfer({ from: a, to: b, amount: 10, pending: true, timeoutSeconds: 60 }, { idempotencyKey: k1 });
    const again = await ledger.transfer({ from: a, to: b, amount: 10, pending: true, timeoutSeconds: 60 }, { idempotencyKey: k1 });
    expect(again).toEqual(first);
    expect(isReplayed(again)).toBe(true);
    await expectRejectedUnchanged([a, b], [first.id], () => ledger.transfer({ from: a, to: b, amount: 10 }, { idempotencyKey: k1 }),
      'IDEMPOTENCY_KEY_MISMATCH');
    expect(await ledger.get(a)).toEqual(position(100, 10, 0));

    const posted = await ledger.postTransfer({ id: first.id, amount: 4 }, { idempotencyKey: k2 });
    const replayed = await ledger.postTransfer({ id: first.id, amount: 4 }, { idempotencyKey: k2 });
    expect(replayed).toEqual(posted);
    expect(isReplayed(replayed)).toBe(true);
    await expectRejectedUnchanged([a, b], [first.id], () => ledger.postTransfer({ id: first.id }, { idempotencyKey: k2 }),
      'IDEMPOTENCY_KEY_MISMATCH');
    expect(await ledger.get(a)).toEqual(position(96, 0, 0));

    // A refusal is an outcome too: replayed even though the state would now answer otherwise.
    const second = await hold(a, b, 5);
    await expect(ledger.voidTransfer({ id: first.id }, { idempotencyKey: k3 })).rejects.toMatchObject({ code: 'PENDING_TRANSFER_ALREADY_POSTED' });
    await expect(ledger.voidTransfer({ id: first.id }, { idempotencyKey: k3 })).rejects
      .toMatchObject({ code: 'PENDING_TRANSFER_ALREADY_POSTED', replayed: true });
    const voided = await ledger.voidTransfer({ id: second.id }, { idempotencyKey: k4 });
    expect(await ledger.voidTransfer({ id: second.id }, { idempotencyKey: k4 })).toEqual(voided);
    expect(await ledger.get(a)).toEqual(position(96, 0, 0));
  });

  it('batches may hold pending items: later items see the reservation; all or nothing', async () => {
    const [a, b, c] = await open([100, 0, 0]);
    let receipts: TransferReceipt[] = [];
    const events = await appended(async () => (receipts = await ledger.transferBatch([
      { from: a, to: b, amount: 60, pending: true, timeoutSeconds: 60 },
      { from: a, to: c, amount: 30 },
      { from: a, to: b, amount: 10, pending: true, timeoutSeconds: 120 },
    ])));
    expect(receipts.map((r) => [r.status ?? 'posted', r.from.balance, r.to.balance])).toEqual([['pending', 100, 0], ['posted', 70, 30],
      ['pending', 70, 0]]);
    expect(Date.parse(receipts[2].expiresAt!) - Date.parse(receipts[2].at)).toBe(120_000);
    expect(await ledger.get(a)).toEqual(position(70, 70, 0));
    expect(await ledger.get(b)).toEqual(position(0, 0, 70));
    expect(await ledger.getTransfer(receipts[0].id)).toMatchObject({ status: 'pending', amount: 60 });
    expect(events).toEqual([expect.objectContaining({ type: 'transfer.batch_completed', data: { transfers: [
      { id: receipts[0].id, from: a, to: b, amount: 60, pending: true, expiresAt: Date.parse(receipts[0].expiresAt!) },
      { id: receipts[1].id, from: a, to: c, amount: 30, fromBalance: 70, toBalance: 30 },
      { id: receipts[2].id, from: a, to: b, amount: 10, pending: true, expiresAt: Date.parse(receipts[2].expiresAt!) },
    ] } })]);

    // The reservation counts against available within the batch: the third item fails, and nothing is written.
    const before = await ledger.get(a);
    await expectRejectedUnchanged([a, b, c], receipts.map((r) => r.id), () => ledger.transferBatch([
      { from: c, to: a, amount: 30 },
      { from: a, to: b, amount: 30, pending: true, timeoutSeconds: 60 },
      { from: a, to: c, amount: 1 },
    ]), 'INSUFFICIENT_FUNDS', { index: 2, account: a, balance: 100, available: 0 });
    expect(await ledger.get(a)).toEqual(before);
  });

  it('the event log alone rebuilds every balance and reservation (reserve, post, void, expire, batches)', async () => {
    const mark = await fixture.lastEventId();
    const [a, b, c] = await open([500, 0, 50], [-100]);
    const x = await hold(a, b, 100);
    await ledger.postTransfer({ id: x.id, amount: 30 });
    const y = await hold(b, c, 20);
    await ledger.voidTransfer({ id: y.id });
    const [, z] = await ledger.transferBatch([{ from: c, to: a, amount: 10 }, { from: a, to: c, amount: 40, pending: true, timeoutSeconds: 1 },
      { from: a, to: b, amount: 5, pending: true, timeoutSeconds: 3600 }]);
    await ledger.deposit({ id: b, amount: 7 });
    await eventually(async () => (await ledger.getTransfer(z.id)).status === 'expired', 'the batch reservation reads expired');
    for (let round = 0; round < 100 && (await ledger.get(a)).pendingDebits !== 5; round++) await ledger.sweepExpired(1000);

    const mine = new Set([a, b, c]);
    const state = new Map<string, { balance: number; pendingDebits: number; pendingCredits: number }>();
    const at = (id: string) => state.get(id)!;
    const reserved = new Map<string, { from: string; to: string; amount: number }>();
    const move = (t: { id: string; from: string; to: string; amount: number; pending?: boolean }, pending: boolean) => {
      if (!mine.has(t.from)) return;
      if (pending) {
        at(t.from).pendingDebits += t.amount;
        at(t.to).pendingCredits += t.amount;
        reserved.set(t.id, t);
      } else {
        at(t.from).balance -= t.amount;
        at(t.to).balance += t.amount;
      }
    };
    for (const { type, data } of await fixture.events(mark)) {
      const d = data as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      if (type === 'account.opened' && mine.has(d.account)) state.set(d.account, { balance: d.balance, pendingDebits: 0, pendingCredits: 0 });
      else if (type === 'account.deposited' && mine.has(d.account)) at(d.account).balance += d.amount;
      else if (type === 'transfer.completed') move(d, false);
      else if (type === 'transfer.pending') move(d, true);
      else if (type === 'transfer.batch_completed') for (const item of d.transfers) move(item, item.pending === true);
      else if (['transfer.posted', 'transfer.voided', 'transfer.expired'].includes(type) && reserved.has(d.id)) {
        const r = reserved.get(d.id)!;
        at(r.from).pendingDebits -= r.amount;
        at(r.to).pendingCredits -= r.amount;
        if (type === 'transfer.posted') {
          expect(d.amount + d.released).toBe(r.amount);
          at(r.from).balance -= d.amount;
          at(r.to).balance += d.amount;
        }
      }
    }
    for (const id of [a, b, c]) {
      const { balance, pendingDebits, pendingCredits } = await ledger.get(id);
      expect([id, state.get(id)]).toEqual([id, { balance, pendingDebits, pendingCredits }]);
    }
    expect(await ledger.get(a)).toEqual(position(500 - 30 + 10, 5, 0));
  });
}
