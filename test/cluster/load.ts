import type { AtomicError } from '@kernel/core';
import type { AccountsLedger } from '../../src/accounts/accounts.port';
import { allHistory } from '../contract/accounts.contract';
import { uniqueIds } from '../support/accounts-fixture';
import { prng } from '../support/bank';

/**
 * Transfer load for the topology-change suites (failover, resharding): every transfer carries its own
 * Idempotency-Key and is retried with it after OUTCOME_UNKNOWN / STORE_UNAVAILABLE / CONFLICT until it is
 * definite (applied, or refused for funds), so the final state must be exactly what the definite outcomes imply.
 */
const RETRYABLE = new Set(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE', 'CONFLICT']);
export const OPENING = 1000;

export interface Outcome { from: string; to: string; amount: number; applied: boolean }

export interface LoadedLedger {
  ledger: AccountsLedger;
  accounts: string[];
  outcomes: Outcome[];
  /** Retried failures by code. */
  retries: Record<string, number>;
  historyBefore: Map<string, number>;
}

export async function openLedger(ledger: AccountsLedger, accounts = 3): Promise<LoadedLedger> {
  const ids = uniqueIds(...Array.from({ length: accounts }, (_, i) => `acct${i}`));
  const historyBefore = new Map<string, number>();
  for (const id of ids) {
    // Retried with one key until definite: under load a replica may miss the WAIT, which is OUTCOME_UNKNOWN.
    for (let attempt = 1; ; attempt++) {
      try {
        await ledger.open({ id, balance: OPENING }, { idempotencyKey: `open-${id}` });
        break;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt >= 20 || (code !== 'OUTCOME_UNKNOWN' && code !== 'STORE_UNAVAILABLE')) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    historyBefore.set(id, (await allHistory(ledger, id)).length);
  }
  return { ledger, accounts: ids, outcomes: [], retries: {}, historyBefore };
}

/**
 * `workers` workers per ledger, `transfers` each. `onApplied(n)` is told the running total of applied transfers;
 * `aborted()` returning an error stops every worker at its next retry (e.g. the fault injection failed).
 */
export async function runLoad(ledgers: LoadedLedger[], { workers, transfers, onApplied, aborted }:
  { workers: number; transfers: number; onApplied: (total: number) => void; aborted: () => unknown }): Promise<void> {
  let applied = 0;
  await Promise.all(ledgers.flatMap((target, i) => Array.from({ length: workers }, async (_, worker) => {
    const random = prng(1000 * i + worker);
    const ids = target.accounts;
    for (let n = 0; n < transfers; n++) {
      const from = ids[Math.floor(random() * ids.length)];
      const to = ids[(ids.indexOf(from) + 1 + Math.floor(random() * (ids.length - 1))) % ids.length];
      const amount = 1 + Math.floor(random() * 400);
      const done = await definite(target, from, to, amount, `${ids[0]}-${worker}-${n}`, aborted);
      target.outcomes.push({ from, to, amount, applied: done });
      if (done) onApplied(++applied);
    }
  })));
}

async function definite(target: LoadedLedger, from: string, to: string, amount: number, idempotencyKey: string,
  aborted: () => unknown): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await target.ledger.transfer({ from, to, amount }, { idempotencyKey });
      return true;
    } catch (err) {
      const code = (err as AtomicError).code;
      if (code === 'INSUFFICIENT_FUNDS') return false;
      const abort = aborted();
      if (abort) throw abort;
      if (!RETRYABLE.has(code) || attempt >= 400) {
        throw new Error(`transfer ${idempotencyKey} still ${code} after ${attempt} attempts: ${(err as Error).message}`);
      }
      target.retries[code] = (target.retries[code] ?? 0) + 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/**
 * What the ledger must hold now: balances from the applied outcomes (none lost, none doubled), the total
 * conserved, and exactly one history entry per applied transfer on each side. Returned as comparable values.
 */
export async function ledgerState(target: LoadedLedger): Promise<{ actual: unknown; expected: unknown }> {
  const balance = new Map(target.accounts.map((id) => [id, OPENING]));
  const entries = new Map(target.accounts.map((id) => [id, 0]));
  for (const { from, to, amount, applied } of target.outcomes) {
    if (!applied) continue;
    balance.set(from, balance.get(from)! - amount);
    balance.set(to, balance.get(to)! + amount);
    entries.set(from, entries.get(from)! + 1);
    entries.set(to, entries.get(to)! + 1);
  }
  const actual = await Promise.all(target.accounts.map(async (id) => ({
    id,
    balance: (await target.ledger.get(id)).balance,
    newEntries: (await allHistory(target.ledger, id)).length - target.historyBefore.get(id)!,
  })));
  const expected = target.accounts.map((id) => ({ id, balance: balance.get(id), newEntries: entries.get(id) }));
  return { actual, expected };
}

export const retried = (target: LoadedLedger): number => Object.values(target.retries).reduce((a, b) => a + b, 0);
