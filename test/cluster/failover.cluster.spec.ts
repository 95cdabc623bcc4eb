import { AtomicError, keySlot } from '@kernel/core';
import { RedisCluster } from '@kernel/testing';
import type { AccountsLedger } from '../../src/accounts/accounts.port';
import { allHistory } from '../contract/accounts.contract';
import { ledgerFixture, LedgerFixture, uniqueIds } from '../support/accounts-fixture';
import { prng } from '../support/bank';

/**
 * Failover under load, with waitReplicas: 1. Concurrent transfers on four ledgers (functions and transactions,
 * two of them on the master that gets SIGKILLed mid-run, two on another master); every transfer carries its own
 * Idempotency-Key and is retried with it after OUTCOME_UNKNOWN / STORE_UNAVAILABLE / CONFLICT until it is
 * definite. The killed master's replica is promoted; the killed node then rejoins as the new master's replica (so
 * WAIT can be acknowledged again). Afterwards every balance equals what the definite outcomes imply: no
 * acknowledged transfer lost, none applied twice, and each transfer left exactly its two history entries.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start({ nodeTimeoutMs: 3000 })), 120_000);
afterAll(() => cluster.stop(), 30_000);

const WORKERS_PER_LEDGER = 3;
const TRANSFERS_PER_WORKER = 25;
const ACCOUNTS = 3;
const OPENING = 1000;
const RETRYABLE = new Set(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE', 'CONFLICT']);

interface Outcome { from: string; to: string; amount: number; applied: boolean }

/** Ledger names on the master owning `slot`'s shard (`on`) or on another master (`!on`). */
async function ledgerNames(count: number, base: string, on: (owner: string) => boolean): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; names.length < count; i++) {
    const name = `${base}${i}`;
    if (on((await cluster.owner(keySlot(name))).address)) names.push(name);
  }
  return names;
}

it('loses no acknowledged transfer and applies none twice when a master dies (waitReplicas: 1)', async () => {
  const victim = (await cluster.masters())[0].address;
  const [fnHit, txHit] = await ledgerNames(2, 'hit', (owner) => owner === victim);
  const [fnSafe, txSafe] = await ledgerNames(2, 'safe', (owner) => owner !== victim);
  const plan: [string, 'functions' | 'transactions', boolean][] =
    [[fnHit, 'functions', true], [txHit, 'transactions', true], [fnSafe, 'functions', false], [txSafe, 'transactions', false]];
  const fixtures: LedgerFixture[] = await Promise.all(plan.map(([ledger, strategy]) =>
    ledgerFixture(strategy, cluster, { ledger }, { waitReplicas: 1, waitTimeoutMs: 250 })));
  try {
    const accounts = plan.map(() => uniqueIds(...Array.from({ length: ACCOUNTS }, (_, i) => `acct${i}`)));
    const historyBefore = new Map<string, number>();
    for (const [i, fixture] of fixtures.entries()) {
      for (const id of accounts[i]) {
        await fixture.ledger.open({ id, balance: OPENING });
        historyBefore.set(`${i}/${id}`, (await allHistory(fixture.ledger, id)).length);
      }
    }

    const outcomes: Outcome[][] = plan.map(() => []);
    const retries: Record<string, number>[] = plan.map(() => ({}));
    let acknowledged = 0;
    let failover: Promise<{ killed: string; promoted: string }> | undefined;
    let failoverError: unknown; // stops the workers at once instead of letting them retry in vain
    const startFailover = async () => {
      const t0 = Date.now();
      const { killed, promoted } = await cluster.killMaster(keySlot(fnHit));
      progress.push(`${killed.address} killed, ${promoted.address} promoted after ${Date.now() - t0} ms`);
      await cluster.restartNode(killed.port);
      progress.push(`${killed.address} back as a replica after ${Date.now() - t0} ms`); // back as the promoted master's replica: WAIT 1 can succeed again
      return { killed: killed.address, promoted: promoted.address };
    };
    const progress: string[] = []; // for the failure message

    /** Retries one transfer with the same key until it is definite (applied, or refused for funds). */
    const definite = async (ledger: AccountsLedger, i: number, from: string, to: string, amount: number, idempotencyKey: string) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await ledger.transfer({ from, to, amount }, { idempotencyKey });
          return true;
        } catch (err) {
          const code = (err as AtomicError).code;
          if (code === 'INSUFFICIENT_FUNDS') return false;
          if (failoverError) throw failoverError;
          if (!RETRYABLE.has(code) || attempt >= 400) {
            throw new Error(`transfer ${idempotencyKey} still ${code} after ${attempt} attempts (${(err as Error).message}); ${progress.join('; ')}`);
          }
          retries[i][code] = (retries[i][code] ?? 0) + 1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };

    await Promise.all(fixtures.flatMap((fixture, i) => Array.from({ length: WORKERS_PER_LEDGER }, async (_, worker) => {
      const random = prng(1000 * i + worker);
      const ids = accounts[i];
      for (let n = 0; n < TRANSFERS_PER_WORKER; n++) {
        const from = ids[Math.floor(random() * ids.length)];
        const to = ids[(ids.indexOf(from) + 1 + Math.floor(random() * (ids.length - 1))) % ids.length];
        const amount = 1 + Math.floor(random() * 400);
        const applied = await definite(fixture.ledger, i, from, to, amount, `${ids[0]}-${worker}-${n}`);
        outcomes[i].push({ from, to, amount, applied });
        if (applied && ++acknowledged === 40) { // mid-run, while every ledger is busy
          failover = startFailover();
          failover.then(() => progress.push('failover done'), (err) => (failoverError = err));
        }
      }
    })));
    expect(failover).toBeDefined();
    const { killed, promoted } = await failover!;
    expect(promoted).not.toBe(killed);
    expect((await cluster.owner(keySlot(fnHit))).address).toBe(promoted);

    for (const [i, fixture] of fixtures.entries()) {
      const expected = new Map(accounts[i].map((id) => [id, OPENING]));
      const entries = new Map(accounts[i].map((id) => [id, 0]));
      for (const { from, to, amount, applied } of outcomes[i]) {
        if (!applied) continue;
        expected.set(from, expected.get(from)! - amount);
        expected.set(to, expected.get(to)! + amount);
        entries.set(from, entries.get(from)! + 1);
        entries.set(to, entries.get(to)! + 1);
      }
      expect(outcomes[i]).toHaveLength(WORKERS_PER_LEDGER * TRANSFERS_PER_WORKER);
      expect(outcomes[i].filter((o) => o.applied).length).toBeGreaterThan(0);
      for (const id of accounts[i]) {
        expect({ ledger: plan[i][0], id, balance: (await fixture.ledger.get(id)).balance })
          .toEqual({ ledger: plan[i][0], id, balance: expected.get(id) });
        expect((await allHistory(fixture.ledger, id)).length - historyBefore.get(`${i}/${id}`)!).toBe(entries.get(id));
      }
      const total = (await Promise.all(accounts[i].map((id) => fixture.ledger.get(id)))).reduce((sum, a) => sum + a.balance, 0);
      expect(total).toBe(OPENING * ACCOUNTS);
    }
    // The failover really hit the two ledgers on the killed master while they were busy.
    for (const i of [0, 1]) expect(Object.values(retries[i]).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // The promoted master got the library through replication.
    const version = await cluster.nodeClient(Number(promoted.split(':')[1])).call('FCALL_RO', 'accounts_version', 0);
    expect(typeof version).toBe('string');
  } finally {
    await Promise.all(fixtures.map((f) => f.close()));
  }
}, 240_000);
