import type { AccountsLedger, PendingTransfer } from '../../src/accounts/accounts.port';
import { MOVES_BALANCE } from '../../src/accounts/history-codec';
import { allHistory } from '../contract/accounts.contract';
import { BankAccount, prng } from './bank';

/** What the workers saw: every reservation made, and every successful resolution (post, void, released by a sweep). */
export interface PendingRun {
  holds: Map<string, { from: string; to: string; amount: number; short: boolean }>;
  resolutions: Map<string, ('post' | 'void' | 'expire')[]>;
  plain: number;
  failures: Record<string, number>;
  /** Accounts seen below their floor of available while the workload ran. */
  dips: string[];
  /** Sweeper calls that failed (connection faults under chaos): their releases, if any happened, are in doubt. */
  sweepFailures: number;
  /** Answers in doubt that were retried with the same key (keyed runs). */
  inDoubt: number;
  /** Worker operations that reached a definite answer, in all and per instance that gave it. */
  completed: number;
  completedBy: Map<AccountsLedger, number>;
}

/** Answers that say nothing about the effect: retried with the same Idempotency-Key (reliable submission). */
export const IN_DOUBT = new Set(['STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN', 'CONFLICT']);

export interface PendingBankOptions {
  /**
   * Every operation carries an Idempotency-Key and is retried with it until a definite answer (success or a business
   * refusal) — so the run knows each operation's outcome even when connections are killed under it.
   */
  keyed?: boolean;
  /** Runs beside the workers (e.g. a CLIENT KILL loop); the run waits for it before checking. */
  chaos?: (run: PendingRun) => Promise<void>;
  /**
   * Instances closed mid-run (a service restart): `ledgers` may be changed in place while the run goes on (workers and
   * sweepers look up their slot for every call), and an error from a retired instance is in doubt (keyed: retried).
   */
  retired?: Set<AccountsLedger>;
}

/** Codes a racing workload expects; anything else is a bug. */
export const EXPECTED_CODES = new Set(['INSUFFICIENT_FUNDS', 'CONFLICT', 'PENDING_TRANSFER_ALREADY_POSTED', 'PENDING_TRANSFER_ALREADY_VOIDED',
  'PENDING_TRANSFER_EXPIRED', 'PENDING_TRANSFER_AMOUNT_EXCEEDED']);

/**
 * `workers` concurrent clients make reservations (most expiring after 1 s), post them (whole or partly, sometimes more
 * than reserved), void them and make plain transfers, picking targets among all reservations made so far — so posts,
 * voids and expiries of one reservation race each other — while `sweepers` loops call sweepExpired and a monitor reads
 * every account. Ledgers are app instances on one store; workers and sweepers are spread over them.
 */
export async function runPendingBank(ledgers: AccountsLedger[], accounts: BankAccount[],
  { workers, operations, seed }: { workers: number; operations: number; seed: number },
  { keyed = false, chaos, retired = new Set() }: PendingBankOptions = {}): Promise<PendingRun> {
  const random = prng(seed);
  const pick = () => accounts[Math.floor(random() * accounts.length)].id;
  const run: PendingRun = { holds: new Map(), resolutions: new Map(), plain: 0, failures: {}, dips: [], sweepFailures: 0, inDoubt: 0,
    completed: 0, completedBy: new Map() };
  const inDoubt = (err: unknown, used: AccountsLedger) => IN_DOUBT.has((err as { code?: string }).code ?? '') || retired.has(used);
  const served = (ledger: AccountsLedger) => {
    run.completed += 1;
    run.completedBy.set(ledger, (run.completedBy.get(ledger) ?? 0) + 1);
  };
  const runId = `r${seed}x${Math.floor(random() * 1e9)}`;
  /** One operation: unkeyed once, or keyed and retried with the same key until its answer is definite. */
  async function definite<T>(slot: () => AccountsLedger, key: string,
    op: (ledger: AccountsLedger, options: { idempotencyKey?: string }) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const ledger = slot();
      try {
        const result = await op(ledger, keyed ? { idempotencyKey: key } : {});
        served(ledger);
        return result;
      } catch (err) {
        if (!keyed || !inDoubt(err, ledger) || attempt > 500) {
          if (!inDoubt(err, ledger)) served(ledger);
          throw err;
        }
        run.inDoubt += 1;
        await new Promise((resolve) => setTimeout(resolve, 5 + random() * 20));
      }
    }
  }
  /** A read that rides out connection faults. */
  async function steady<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (!IN_DOUBT.has((err as { code?: string }).code ?? '') || attempt > 500) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
  const resolved = (id: string, how: 'post' | 'void' | 'expire') => run.resolutions.set(id, [...(run.resolutions.get(id) ?? []), how]);
  const ids: string[] = [];
  const fail = (err: unknown) => {
    const code = (err as { code?: string }).code ?? String(err);
    run.failures[code] = (run.failures[code] ?? 0) + 1;
  };
  let started = 0;
  let done = false;
  const sweepers = ledgers.map(async (_, slot) => {
    while (!done) {
      const ledger = ledgers[slot];
      try {
        for (const id of (await ledger.sweepExpired(5)).expired) resolved(id, 'expire');
      } catch (err) {
        if (inDoubt(err, ledger)) run.sweepFailures += 1;
        else fail(err);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  });
  const monitor = (async () => {
    while (!done) {
      for (const account of accounts) {
        try {
          const now = await ledgers[0].get(account.id);
          if (now.available < now.minBalance) run.dips.push(`${now.id} available ${now.available} < floor ${now.minBalance}`);
        } catch (err) {
          if (!IN_DOUBT.has((err as { code?: string }).code ?? '')) run.dips.push(`${account.id} unreadable: ${(err as Error).message}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const disorder = chaos?.(run);
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    const slot = () => ledgers[worker % ledgers.length];
    while (started++ < operations) {
      const key = `${runId}-${started}`;
      const dice = random();
      const target = ids.length ? ids[Math.floor(random() * ids.length)] : undefined;
      try {
        if (dice < 0.35 || !target) {
          const from = pick();
          let to = pick();
          while (to === from) to = pick();
          const short = random() < 0.7;
          const amount = 1 + Math.floor(random() * 300);
          const receipt = await definite(slot, key, (ledger, o) => ledger.transfer({ from, to, amount, pending: true, timeoutSeconds: short ? 1 : 3600 }, o));
          run.holds.set(receipt.id, { from, to, amount: receipt.amount, short });
          ids.push(receipt.id);
        } else if (dice < 0.6) {
          const amount = random() < 0.5 ? undefined : 1 + Math.floor(random() * 1.2 * run.holds.get(target)!.amount);
          await definite(slot, key, (ledger, o) => ledger.postTransfer({ id: target, amount }, o));
          resolved(target, 'post');
        } else if (dice < 0.8) {
          await definite(slot, key, (ledger, o) => ledger.voidTransfer({ id: target }, o));
          resolved(target, 'void');
        } else {
          const from = pick();
          let to = pick();
          while (to === from) to = pick();
          const amount = 1 + Math.floor(random() * 300);
          await definite(slot, key, (ledger, o) => ledger.transfer({ from, to, amount }, o));
          run.plain += 1;
        }
      } catch (err) {
        fail(err);
      }
      // Spread the work over a few seconds, so that 1 s reservations expire while posts and voids still target them.
      await new Promise((resolve) => setTimeout(resolve, random() * 80));
    }
  }));
  await disorder;
  // Let every short reservation pass its deadline, then sweep until nothing is due.
  await Promise.all([...run.holds].filter(([, h]) => h.short).map(async ([id]) => {
    while ((await steady(() => ledgers[0].getTransfer(id))).status === 'pending') await new Promise((resolve) => setTimeout(resolve, 50));
  }));
  done = true;
  await Promise.all([...sweepers, monitor]);
  for (let round = 0; round < 1000; round++) {
    const swept = await steady(() => ledgers[round % ledgers.length].sweepExpired(100)).catch((err) => (fail(err), null));
    for (const id of swept?.expired ?? []) resolved(id, 'expire');
    if (!swept?.expired.length) break;
  }
  return run;
}

/**
 * The two-phase invariants, as a list of violations (empty = sound): money is conserved; Σ pendingDebits =
 * Σ pendingCredits = Σ amounts of the open reservations (per account, too); no account's available balance is
 * below its floor (at the end, nor seen by the monitor during the run); every reservation resolved at most once,
 * ends in the state of that resolution (expired ones released), and its history shows it; every history chains.
 */
export async function pendingViolations(ledger: AccountsLedger, accounts: BankAccount[], run: PendingRun): Promise<string[]> {
  // A sweep whose reply was lost may have released reservations nobody heard of: then `expired` needs no witness
  // (its history must still show exactly one release, and the reservation sums must still match).
  const sweepsInDoubt = run.sweepFailures > 0;
  const violations = [...run.dips];
  for (const [id, resolutions] of run.resolutions) {
    if (resolutions.length > 1) violations.push(`${id} resolved ${resolutions.length} times: ${resolutions.join(', ')}`);
  }
  const read = await Promise.all(accounts.map((a) => ledger.get(a.id).catch((err: Error) => err)));
  for (const [i, r] of read.entries()) if (r instanceof Error) violations.push(`${accounts[i].id} unreadable: ${r.message}`);
  if (violations.some((v) => v.includes('unreadable'))) return violations;
  const now = read as Awaited<ReturnType<AccountsLedger['get']>>[];
  const opening = accounts.reduce((sum, a) => sum + a.balance, 0);
  const total = now.reduce((sum, a) => sum + a.balance, 0);
  if (total !== opening) violations.push(`money not conserved: ${opening} → ${total}`);
  const views = new Map<string, PendingTransfer>();
  for (const id of run.holds.keys()) views.set(id, await ledger.getTransfer(id));
  const debits = new Map<string, number>();
  const credits = new Map<string, number>();
  for (const [id, hold] of run.holds) {
    const view = views.get(id)!;
    const resolutions = run.resolutions.get(id) ?? [];
    const expected = resolutions[0] === 'post' ? 'posted' : resolutions[0] === 'void' ? 'voided' : resolutions[0] === 'expire' ? 'expired' : null;
    if (expected && view.status !== expected) violations.push(`${id} is ${view.status}, but was ${resolutions[0]}ed`);
    const unwitnessed = !expected && view.status === 'expired' && sweepsInDoubt;
    if (!expected && view.status !== 'pending' && !unwitnessed) violations.push(`${id} is ${view.status}, but nobody resolved it`);
    if (!expected && hold.short && !unwitnessed) violations.push(`${id} expired but was never released`);
    if (view.status === 'pending') {
      debits.set(hold.from, (debits.get(hold.from) ?? 0) + hold.amount);
      credits.set(hold.to, (credits.get(hold.to) ?? 0) + hold.amount);
    }
  }
  let sumDebits = 0;
  let sumCredits = 0;
  for (const account of now) {
    sumDebits += account.pendingDebits;
    sumCredits += account.pendingCredits;
    if (account.available < account.minBalance) violations.push(`${account.id} available ${account.available} below its floor ${account.minBalance}`);
    if (account.pendingDebits !== (debits.get(account.id) ?? 0)) {
      violations.push(`${account.id} pendingDebits ${account.pendingDebits}, open reservations from it ${debits.get(account.id) ?? 0}`);
    }
    if (account.pendingCredits !== (credits.get(account.id) ?? 0)) {
      violations.push(`${account.id} pendingCredits ${account.pendingCredits}, open reservations to it ${credits.get(account.id) ?? 0}`);
    }
  }
  const open = [...debits.values()].reduce((s, v) => s + v, 0);
  if (sumDebits !== open || sumCredits !== open) violations.push(`Σ pendingDebits ${sumDebits}, Σ pendingCredits ${sumCredits}, open ${open}`);
  // Histories: balances chain through the kinds that move money; each reservation has one hold pair and at most one
  // resolution pair, matching its final state.
  const kinds = new Map<string, string[]>();
  for (const [i, account] of accounts.entries()) {
    let balance = account.balance;
    for (const entry of (await allHistory(ledger, account.id)).reverse()) {
      if (MOVES_BALANCE.has(entry.type)) balance += entry.amount;
      if (entry.balance !== balance) {
        violations.push(`${account.id}: entry ${entry.transferId} (${entry.type}) says ${entry.balance}, chain says ${balance}`);
        balance = entry.balance;
      }
      if (run.holds.has(entry.transferId)) kinds.set(entry.transferId, [...(kinds.get(entry.transferId) ?? []), entry.type]);
    }
    if (balance !== now[i].balance) violations.push(`${account.id}: history ends at ${balance}, balance is ${now[i].balance}`);
  }
  const RESOLVED: Record<string, string[]> = { pending: [], posted: ['post_in', 'post_out'], voided: ['void_in', 'void_out'],
    expired: ['expire_in', 'expire_out'] };
  for (const [id, view] of views) {
    const seen = (kinds.get(id) ?? []).sort();
    const expected = ['pending_in', 'pending_out', ...RESOLVED[view.status]].sort();
    if (seen.join() !== expected.join()) violations.push(`${id} (${view.status}) has history ${seen.join(', ')}`);
  }
  return violations;
}
