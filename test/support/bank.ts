import type { AccountsLedger, Transfer } from '../../src/accounts/accounts.port';
import { allHistory } from '../contract/accounts.contract';

/** A seeded PRNG (mulberry32), so a failing run can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BankAccount {
  id: string;
  balance: number;
  minBalance: number;
}

export interface BankRun {
  /** Transfers that were applied (a successful batch counts each of its items). */
  applied: number;
  /** Operations (transfers or batches) that succeeded. */
  succeeded: number;
  /** Failures by code: INSUFFICIENT_FUNDS and CONFLICT are expected; anything else fails the test. */
  failures: Record<string, number>;
}

/**
 * `workers` concurrent clients run `operations` random transfers and batches (amounts up to 60% of an
 * opening balance, so many of them try to overdraw) over the given accounts. Given several ledgers (app
 * instances on one Redis), the workers are spread over them.
 */
export async function runBank(ledgers: AccountsLedger | AccountsLedger[], accounts: BankAccount[],
  { workers, operations, seed }: { workers: number; operations: number; seed: number }): Promise<BankRun> {
  const random = prng(seed);
  const pick = () => accounts[Math.floor(random() * accounts.length)].id;
  const transfer = (): Transfer => {
    const from = pick();
    let to = pick();
    while (to === from) to = pick();
    return { from, to, amount: 1 + Math.floor(random() * 600) };
  };
  const run: BankRun = { applied: 0, succeeded: 0, failures: {} };
  let started = 0;
  const instances = Array.isArray(ledgers) ? ledgers : [ledgers];
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    const ledger = instances[worker % instances.length];
    while (started++ < operations) {
      const batch = random() < 0.25 ? Array.from({ length: 2 + Math.floor(random() * 4) }, transfer) : null;
      try {
        // Await first, then add: `applied += await …` would read `applied` before the await and lose updates.
        const applied = batch ? (await ledger.transferBatch(batch)).length : (await ledger.transfer(transfer()), 1);
        run.applied += applied;
        run.succeeded += 1;
      } catch (err) {
        const code = (err as { code?: string }).code ?? String(err);
        run.failures[code] = (run.failures[code] ?? 0) + 1;
      }
    }
  }));
  return run;
}

/**
 * The bank's invariants, as a list of violations (empty = sound):
 * money is conserved; no account is below its floor; every applied transfer left exactly two history
 * entries (one out, one in, same id, opposite amounts); each account's history chains balance to balance.
 */
export async function bankViolations(ledger: AccountsLedger, accounts: BankAccount[], run: BankRun): Promise<string[]> {
  const violations: string[] = [];
  const opening = accounts.reduce((sum, a) => sum + a.balance, 0);
  const now = await Promise.all(accounts.map((a) => ledger.get(a.id)));
  const total = now.reduce((sum, a) => sum + a.balance, 0);
  if (total !== opening) violations.push(`money not conserved: ${opening} → ${total}`);
  for (const account of now) {
    if (account.balance < account.minBalance) violations.push(`${account.id} at ${account.balance}, below its floor ${account.minBalance}`);
  }
  const byTransfer = new Map<string, number[]>();
  for (const [i, account] of accounts.entries()) {
    const history = (await allHistory(ledger, account.id)).reverse(); // oldest first
    let balance = account.balance;
    for (const entry of history) {
      balance += entry.amount;
      if (entry.balance !== balance) {
        violations.push(`${account.id}: entry ${entry.transferId} says ${entry.balance}, chain says ${balance}`);
        balance = entry.balance;
      }
      byTransfer.set(entry.transferId, [...(byTransfer.get(entry.transferId) ?? []), entry.amount]);
    }
    if (balance !== now[i].balance) violations.push(`${account.id}: history ends at ${balance}, balance is ${now[i].balance}`);
  }
  if (byTransfer.size !== run.applied) violations.push(`${byTransfer.size} transfers in history, ${run.applied} reported applied`);
  for (const [id, amounts] of byTransfer) {
    if (amounts.length !== 2 || amounts[0] + amounts[1] !== 0) violations.push(`transfer ${id} has entries ${amounts.join(', ')}`);
  }
  return violations;
}
