import fc from 'fast-check';
import { isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import type { AccountsLedger } from '../src/accounts/accounts.port';
import { ledgerFixture, LedgerFixture, uniqueIds } from './support/accounts-fixture';

/**
 * Differential property: random sequences of operations — valid and invalid, including overdrafts, unknown
 * accounts, huge and fractional amounts, two-phase reservations, posts and voids — give the same outcome on every adapter (the same results and the
 * same error codes and details, ids and timestamps aside). fast-check shrinks any difference to a minimal case.
 */
const MAX = Number.MAX_SAFE_INTEGER;
const NAMES = ['a', 'b', 'c', 'd'];

const amount = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 400 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, MAX, MAX + 1, 1e21, NaN) },
);
const name = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...NAMES) }, { weight: 1, arbitrary: fc.constantFrom('zz', 'bad:id') });
/** Some transfers reserve (two-phase; long timeouts, so no expiry races the comparison), a few are malformed so. */
const phase = fc.oneof({ weight: 6, arbitrary: fc.constant({}) }, { weight: 3, arbitrary: fc.constant({ pending: true, timeoutSeconds: 3600 }) },
  { weight: 1, arbitrary: fc.constantFrom({ pending: true }, { timeoutSeconds: 5 }) });
const transfer = fc.tuple(fc.record({ from: name, to: name, amount, minBalance: fc.option(fc.integer({ min: -300, max: 300 }), { nil: undefined }) }),
  phase).map(([t, p]) => ({ ...t, ...p }));
const open = (id: fc.Arbitrary<string>) =>
  fc.record({ op: fc.constant('open' as const), id, balance: fc.integer({ min: 0, max: 500 }), minBalance: fc.integer({ min: -200, max: 0 }), key });
/** Writes sometimes carry an idempotency key from a small pool, so replays and mismatches happen too. */
const key = fc.option(fc.constantFrom('k1', 'k2', 'k3'), { nil: undefined, freq: 2 });
const operation = fc.oneof(
  { weight: 1, arbitrary: open(name) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('deposit' as const, 'withdraw' as const), id: name, amount, key }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant('transfer' as const), transfer, key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('batch' as const), transfers: fc.array(transfer, { minLength: 0, maxLength: 5 }), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('history' as const), id: name, limit: fc.integer({ min: 0, max: 4 }) }) },
  // Resolutions name a reservation made earlier in the run by its index (-1: an id nobody reserved).
  { weight: 3, arbitrary: fc.record({ op: fc.constant('post' as const), index: fc.integer({ min: -1, max: 5 }),
    amount: fc.option(amount, { nil: undefined }), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('void' as const), index: fc.integer({ min: -1, max: 5 }), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), index: fc.integer({ min: -1, max: 5 }) }) },
);
/** The four accounts opened first (random balances and floors), then a random workload. */
const scenario = fc.tuple(...NAMES.map((n) => open(fc.constant(n))), fc.array(operation, { minLength: 5, maxLength: 40 }))
  .map((parts) => parts.flat() as Operation[]);
type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

type Transfer = typeof transfer extends fc.Arbitrary<infer T> ? T : never;

/** Runs the operations with ids made unique to this run, and returns comparable outcomes. */
async function play(ledger: AccountsLedger, operations: Operation[]): Promise<unknown[]> {
  const real = Object.fromEntries(NAMES.concat('zz').map((n, i) => [n, uniqueIds(n)[0] + i]));
  const id = (n: string) => real[n] ?? n;
  const t = (x: Transfer) => ({ ...x, from: id(x.from), to: id(x.to) });
  const run = uniqueIds('run')[0];
  const k = (o: { key?: string }) => ({ idempotencyKey: o.key && `${run}-${o.key}` });
  const anonymise = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (key, v) =>
    ['id', 'transferId', 'at', 'next', 'createdAt', 'expiresAt', 'resolvedAt'].includes(key) ? undefined
      : typeof v === 'string' ? Object.entries(real).reduce((s, [n, r]) => s.split(r).join(n), v) : v));
  const outcomes: unknown[] = [];
  const ok = (value: unknown) => ({ value, replayed: isReplayed(value) });
  const reserved: string[] = [];
  const reserve = (receipts: { id: string; status?: string }[]) => {
    for (const r of receipts) if (r.status === 'pending' && !reserved.includes(r.id)) reserved.push(r.id);
    return receipts;
  };
  const pendingId = (index: number) => (index < 0 || reserved.length === 0 ? `${run}-none` : reserved[index % reserved.length]);
  for (const o of operations) {
    try {
      switch (o.op) {
        case 'open': outcomes.push(ok(await ledger.open({ id: id(o.id), balance: o.balance, minBalance: o.minBalance }, k(o)))); break;
        case 'deposit': outcomes.push(ok(await ledger.deposit({ id: id(o.id), amount: o.amount }, k(o)))); break;
        case 'withdraw': outcomes.push(ok(await ledger.withdraw({ id: id(o.id), amount: o.amount }, k(o)))); break;
        case 'transfer': outcomes.push(ok(reserve([await ledger.transfer(t(o.transfer), k(o))])[0])); break;
        case 'batch': outcomes.push(ok(reserve(await ledger.transferBatch(o.transfers.map(t), k(o))))); break;
        case 'post': outcomes.push(ok(await ledger.postTransfer({ id: pendingId(o.index), amount: o.amount }, k(o)))); break;
        case 'void': outcomes.push(ok(await ledger.voidTransfer({ id: pendingId(o.index) }, k(o)))); break;
        case 'get': outcomes.push(ok(await ledger.getTransfer(pendingId(o.index)))); break;
        case 'history': outcomes.push(ok(await ledger.history(id(o.id), { limit: o.limit }))); break;
      }
    } catch (err) {
      const { code, details, replayed } = err as { code?: string; details?: Record<string, unknown>; replayed?: boolean };
      if (!code) throw err; // an untyped error is a bug on any adapter
      // Validation messages are the gate's (shared); business details must match exactly.
      outcomes.push({ code, replayed, details: code === 'VALIDATION_FAILED' ? undefined : details });
    }
  }
  return anonymise(outcomes) as unknown[];
}

describe('every adapter gives the same outcomes (differential, property-based)', () => {
  let server: RedisServer;
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    server = await RedisServer.start();
    fixtures = await Promise.all((['memory', 'functions', 'transactions'] as const).map((s) =>
      ledgerFixture(s, server, { maxBatch: 4, historyLimit: 3 })));
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.close()));
    await server.stop();
  });

  it('for random operation sequences', async () => {
    const seen = new Set<string>();
    await fc.assert(fc.asyncProperty(scenario, async (operations) => {
      const [memory, ...redis] = await Promise.all(fixtures.map((f) => play(f.ledger, operations)));
      for (const outcome of redis) expect(outcome).toEqual(memory);
      for (const o of memory as { value?: { status?: string }; code?: string }[]) seen.add(o.value?.status ?? o.code ?? 'ok');
    }), { numRuns: 150, seed: Number(process.env.FC_SEED ?? 424242) });
    // The workload reached every two-phase outcome, not just plain transfers.
    for (const outcome of ['pending', 'posted', 'voided', 'PENDING_TRANSFER_ALREADY_POSTED', 'PENDING_TRANSFER_ALREADY_VOIDED',
      'PENDING_TRANSFER_NOT_FOUND', 'PENDING_TRANSFER_AMOUNT_EXCEEDED']) expect([outcome, seen.has(outcome)]).toEqual([outcome, true]);
  });
});
