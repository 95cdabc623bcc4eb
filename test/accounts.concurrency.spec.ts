import { KeySpace } from '@kernel/core';
import { RedisAtomicOptions } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AtomicStrategy } from '@kernel/core';
import type { AccountsLedger } from '../src/accounts/accounts.port';
import { AccountKeys } from '../src/accounts/keys';
import { ledgerFixture, LedgerFixture, uniqueIds } from './support/accounts-fixture';
import { BankAccount, bankViolations, runBank } from './support/bank';
import { ReadThenWriteLedger, SeedMultiLedger } from './support/broken-ledgers';

/**
 * The bank invariant under concurrency: 8 accounts (some with overdraft floors, one with a floor above
 * zero), 16 concurrent workers, 2,000 random transfers and batches, many of them overdraft attempts.
 */
const WORKLOAD = { workers: 16, operations: 2000, seed: Number(process.env.BANK_SEED ?? 20261124) };
const FLOORS = [0, -200, 0, -500, 0, 100, 0, -50];
const HISTORY = { historyLimit: 10_000 }; // keep every entry so the checker sees them all

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

async function openBank(ledger: AccountsLedger): Promise<BankAccount[]> {
  const ids = uniqueIds(...FLOORS.map((_, i) => `acct${i}`));
  const accounts = ids.map((id, i) => ({ id, balance: 1000, minBalance: FLOORS[i] }));
  for (const account of accounts) await ledger.open(account);
  return accounts;
}

/** Each case: a strategy and its options, run by one or more app instances sharing one Redis. */
const CASES: [string, AtomicStrategy, Partial<RedisAtomicOptions>, number][] = [
  ['memory', 'memory', {}, 1],
  ['functions, 2 instances', 'functions', {}, 2],
  // WATCH alone: the in-process queue is off, so every conflict is resolved by WATCH and retries.
  ['transactions, WATCH only', 'transactions', { watch: { queueSameKeys: false, maxAttempts: 50 } }, 1],
  // The default: each instance queues its own same-key transactions; WATCH guards between instances.
  ['transactions, 2 instances', 'transactions', {}, 2],
];

describe.each(CASES)('bank invariant under concurrency — %s', (_, strategy, redisOptions, instances) => {
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    fixtures = await Promise.all(Array.from({ length: instances }, () => ledgerFixture(strategy, server, HISTORY, redisOptions)));
  });
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  it('conserves money, respects every floor and records exactly two entries per transfer', async () => {
    const ledgers = fixtures.map((f) => f.ledger);
    const accounts = await openBank(ledgers[0]);
    const execsBefore = await execCalls();
    const run = await runBank(ledgers, accounts, WORKLOAD);
    const execs = (await execCalls()) - execsBefore;
    const { INSUFFICIENT_FUNDS = 0, CONFLICT = 0, ...unexpected } = run.failures;
    expect(unexpected).toEqual({});
    expect(INSUFFICIENT_FUNDS).toBeGreaterThan(0); // the workload really did try to overdraw
    expect(run.applied).toBeGreaterThan(WORKLOAD.operations / 4);
    expect(await bankViolations(ledgers[0], accounts, run)).toEqual([]);
    if (strategy !== 'transactions') expect(CONFLICT).toBe(0);
    // WATCH really was exercised: more EXECs than successes means some were aborted by a conflict and retried.
    if (strategy === 'transactions') expect(execs).toBeGreaterThan(run.succeeded);
  });
});

/** EXEC calls the server has seen (aborted ones included). */
async function execCalls(): Promise<number> {
  const client = server.client();
  const stats = await client.info('commandstats');
  client.disconnect();
  return Number(/cmdstat_exec:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

describe('the invariant checker bites (deliberately broken adapters)', () => {
  let real: LedgerFixture;
  const keys = new AccountKeys(new KeySpace('ra', 'broken'));
  beforeAll(async () => (real = await ledgerFixture('functions', server, { ...HISTORY, ledger: 'broken' })));
  afterAll(() => real.close());

  it("catches the seed's Step 1 (MULTI, no check) overdrawing below the floor", async () => {
    const ledger = new SeedMultiLedger(real.ledger, server.client(), keys);
    const accounts = await openBank(ledger);
    const run = await runBank(ledger, accounts, WORKLOAD);
    const violations = await bankViolations(ledger, accounts, run);
    expect(violations.some((v) => v.includes('below its floor'))).toBe(true);
  });

  it('catches a read-then-write without WATCH losing or creating money', async () => {
    const ledger = new ReadThenWriteLedger(real.ledger, server.client(), keys);
    const accounts = await openBank(ledger);
    const run = await runBank(ledger, accounts, WORKLOAD);
    const violations = await bankViolations(ledger, accounts, run);
    expect(violations.some((v) => v.startsWith('money not conserved'))).toBe(true);
  });
});
