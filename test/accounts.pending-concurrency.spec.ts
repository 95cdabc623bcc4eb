import { AtomicStrategy, KeySpace } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import type { AccountsLedger } from '../src/accounts/accounts.port';
import { AccountKeys } from '../src/accounts/keys';
import { ledgerFixture, LedgerFixture, uniqueIds } from './support/accounts-fixture';
import { BankAccount } from './support/bank';
import { UncheckedPostLedger } from './support/broken-ledgers';
import { EXPECTED_CODES, pendingViolations, runPendingBank } from './support/pending-bank';

/**
 * Two-phase transfers under concurrency: 12 workers make reservations (most expiring after 1 s), post, void and
 * transfer, racing each other and the sweepers (one per instance) on the same reservations. Checked afterwards:
 * Σ balances constant; Σ pendingDebits = Σ pendingCredits = Σ open reservations (per account too); no available
 * balance below its floor (also sampled during the run); every reservation resolved at most once and in that state.
 */
const WORKLOAD = { workers: 12, operations: 600, seed: Number(process.env.PENDING_SEED ?? 20261129) };
const FLOORS = [0, -200, 0, -500, 100, 0];
const HISTORY = { historyLimit: 10_000 };

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

async function openBank(ledger: AccountsLedger): Promise<BankAccount[]> {
  const ids = uniqueIds(...FLOORS.map((_, i) => `acct${i}`));
  const accounts = ids.map((id, i) => ({ id, balance: 1000, minBalance: FLOORS[i] }));
  for (const account of accounts) await ledger.open(account);
  return accounts;
}

const CASES: [string, AtomicStrategy, Partial<RedisAtomicOptions>, number][] = [
  ['memory', 'memory', {}, 1],
  ['functions, 2 instances', 'functions', {}, 2],
  ['transactions, 2 instances', 'transactions', {}, 2],
];

describe.each(CASES)('two-phase invariants under concurrency — %s', (_, strategy, redisOptions, instances) => {
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    fixtures = await Promise.all(Array.from({ length: instances }, () => ledgerFixture(strategy, server, HISTORY, redisOptions)));
  });
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  it('posts, voids, expiries and sweepers racing: conserved, reserved exactly, never below a floor, resolved once', async () => {
    const ledgers = fixtures.map((f) => f.ledger);
    const accounts = await openBank(ledgers[0]);
    const run = await runPendingBank(ledgers, accounts, WORKLOAD);
    const unexpected = Object.keys(run.failures).filter((code) => !EXPECTED_CODES.has(code) && !(strategy === 'transactions' && code === 'CONFLICT'));
    expect(unexpected).toEqual([]);
    const resolutions = [...run.resolutions.values()].flat();
    // The workload really raced: every kind of resolution happened, and second resolutions were refused.
    expect(['post', 'void', 'expire'].map((how) => resolutions.includes(how as never))).toEqual([true, true, true]);
    expect(run.failures.PENDING_TRANSFER_ALREADY_POSTED ?? 0).toBeGreaterThan(0);
    expect(run.failures.PENDING_TRANSFER_EXPIRED ?? 0).toBeGreaterThan(0);
    expect(await pendingViolations(ledgers[0], accounts, run)).toEqual([]);
  });
});

/**
 * The same workload under CLIENT KILL chaos: every operation carries an Idempotency-Key and is retried with it until its
 * answer is definite, while an admin connection kills every normal client (the shared client, the WATCH pool) every
 * 100–300 ms — bounded by kills made, not by time. The invariants must hold just the same.
 */
describe.each<AtomicStrategy>(['functions', 'transactions'])('two-phase invariants under CLIENT KILL chaos — %s', (strategy) => {
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    fixtures = await Promise.all([0, 1].map(() => ledgerFixture(strategy, server, { ...HISTORY, ledger: `pending-chaos-${strategy}` })));
  });
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  it('keyed retries until a definite answer: still conserved, reserved exactly, never below a floor, resolved once', async () => {
    const ledgers = fixtures.map((f) => f.ledger);
    const accounts = await openBank(ledgers[0]);
    const admin = server.client();
    let killed = 0;
    const chaos = async () => {
      for (let kill = 0; kill < 6; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
        killed += Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
      }
    };
    try {
      const run = await runPendingBank(ledgers, accounts, { ...WORKLOAD, operations: 400 }, { keyed: true, chaos });
      expect(killed).toBeGreaterThan(0);
      // eslint-disable-next-line no-console
      console.log(`two-phase chaos (${strategy}): ${killed} connections killed, ${run.inDoubt} answers in doubt retried with their key, ` +
        `${run.sweepFailures} sweeps failed, ${run.holds.size} reservations`);
      expect(Object.keys(run.failures).filter((code) => !EXPECTED_CODES.has(code))).toEqual([]);
      expect(await pendingViolations(ledgers[0], accounts, run)).toEqual([]);
    } finally {
      admin.disconnect();
    }
  });
});

/**
 * The same workload across a service restart: mid-run (after a third of the operations reached a definite answer) one
 * of the two app instances is closed (its Nest module) while the workers keep going, and a fresh instance on the same
 * Redis and ledger takes over its workers and its sweeper. Every operation carries an Idempotency-Key; one that fails
 * in doubt (STORE_UNAVAILABLE / OUTCOME_UNKNOWN / CONFLICT) or because its instance closed is retried with the same key
 * on a live instance. The invariants must hold, and both the old and the new instance must have answered operations.
 */
describe.each<AtomicStrategy>(['functions', 'transactions'])('two-phase invariants across a service restart — %s', (strategy) => {
  const ledger = `pending-restart-${strategy}`;
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    fixtures = await Promise.all([0, 1].map(() => ledgerFixture(strategy, server, { ...HISTORY, ledger })));
  });
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  it('an instance closed and replaced mid-run, keyed retries: still conserved, reserved exactly, never below a floor, resolved once', async () => {
    const ledgers = fixtures.map((f) => f.ledger);
    const accounts = await openBank(ledgers[0]);
    const retired = new Set<AccountsLedger>();
    const old = fixtures[1];
    let fresh: LedgerFixture | undefined;
    let atRestart = -1;
    const restart = async (run: { completed: number }) => {
      while (run.completed < WORKLOAD.operations / 3) await new Promise((resolve) => setTimeout(resolve, 10));
      atRestart = run.completed;
      retired.add(old.ledger);
      const closing = old.close();
      ledgers[1] = ledgers[0]; // its workers go to the live instance until the new one is up
      await closing;
      fresh = await ledgerFixture(strategy, server, { ...HISTORY, ledger });
      fixtures[1] = fresh;
      ledgers[1] = fresh.ledger;
    };
    const run = await runPendingBank(ledgers, accounts, WORKLOAD, { keyed: true, chaos: restart, retired });
    // eslint-disable-next-line no-console
    console.log(`two-phase restart (${strategy}): restarted after ${atRestart} operations; answered by the old instance ` +
      `${run.completedBy.get(old.ledger) ?? 0}, the new one ${fresh ? run.completedBy.get(fresh.ledger) ?? 0 : 0}; ` +
      `${run.inDoubt} answers in doubt retried with their key, ${run.sweepFailures} sweeps failed, ${run.holds.size} reservations`);
    // The restart happened mid-run: both the closed instance and its successor answered worker operations.
    expect(fresh).toBeDefined();
    expect(run.completedBy.get(old.ledger) ?? 0).toBeGreaterThan(0);
    expect(run.completedBy.get(fresh!.ledger) ?? 0).toBeGreaterThan(0);
    expect(Object.keys(run.failures).filter((code) => !EXPECTED_CODES.has(code))).toEqual([]);
    expect(await pendingViolations(ledgers[0], accounts, run)).toEqual([]);
  });
});

describe('the two-phase checker bites (a deliberately broken post)', () => {
  let real: LedgerFixture;
  beforeAll(async () => (real = await ledgerFixture('functions', server, { ...HISTORY, ledger: 'broken-post' })));
  afterAll(() => real.close());

  it('catches a post that does not check the state: resolved twice, reservations released twice', async () => {
    const ledger = new UncheckedPostLedger(real.ledger, server.client(), new AccountKeys(new KeySpace('ra', 'broken-post')));
    const accounts = await openBank(ledger);
    const run = await runPendingBank([ledger], accounts, WORKLOAD);
    const violations = await pendingViolations(ledger, accounts, run);
    expect(violations.some((v) => / resolved \d+ times/.test(v))).toBe(true);
    expect(violations.some((v) => /pendingDebits|unreadable/.test(v))).toBe(true);
  });
});
