import { KeySpace } from '../libs/redis-atomic/src';
import { RedisServer } from '../libs/redis-atomic/src/testing';
import { ATOMIC_STRATEGIES } from '../src/accounts/accounts.module';
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

describe.each(ATOMIC_STRATEGIES)('bank invariant under concurrency — %s', (strategy) => {
  let fixture: LedgerFixture;
  beforeAll(async () => (fixture = await ledgerFixture(strategy, server, HISTORY)));
  afterAll(() => fixture.close());

  it('conserves money, respects every floor and records exactly two entries per transfer', async () => {
    const accounts = await openBank(fixture.ledger);
    const run = await runBank(fixture.ledger, accounts, WORKLOAD);
    const { INSUFFICIENT_FUNDS = 0, CONFLICT = 0, ...unexpected } = run.failures;
    expect(unexpected).toEqual({});
    expect(INSUFFICIENT_FUNDS).toBeGreaterThan(0); // the workload really did try to overdraw
    expect(run.applied).toBeGreaterThan(WORKLOAD.operations / 4);
    expect(await bankViolations(fixture.ledger, accounts, run)).toEqual([]);
    if (strategy !== 'transactions') expect(CONFLICT).toBe(0);
  });
});

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
