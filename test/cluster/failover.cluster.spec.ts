import { keySlot } from '@kernel/core';
import { RedisCluster } from '@kernel/testing';
import { ledgerFixture, LedgerFixture } from '../support/accounts-fixture';
import { LoadedLedger, ledgerState, OPENING, openLedger, retried, runLoad } from './load';

/**
 * Failover under load, with waitReplicas: 1. Concurrent transfers on four ledgers (functions and transactions,
 * two of them on the master that gets SIGKILLed mid-run, two on another master); every transfer carries its own
 * Idempotency-Key and is retried with it until definite (load.ts). The killed master's replica is promoted; the
 * killed node then rejoins as the new master's replica (so WAIT can be acknowledged again). Afterwards every
 * balance equals what the definite outcomes imply: no acknowledged transfer lost, none applied twice, and each
 * transfer left exactly its two history entries.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start({ nodeTimeoutMs: 3000 })), 120_000);
afterAll(() => cluster.stop(), 30_000);

/** Ledger names whose slot's owner passes `on`. */
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
  const plan = [[fnHit, 'functions'], [txHit, 'transactions'], [fnSafe, 'functions'], [txSafe, 'transactions']] as const;
  const fixtures: LedgerFixture[] = await Promise.all(plan.map(([ledger, strategy]) =>
    ledgerFixture(strategy, cluster, { ledger }, { waitReplicas: 1, waitTimeoutMs: 2000 } /* generous: a loaded machine delays replication */)));
  try {
    const ledgers: LoadedLedger[] = [];
    for (const fixture of fixtures) ledgers.push(await openLedger(fixture.ledger));

    const progress: string[] = [];
    let failover: Promise<{ killed: string; promoted: string }> | undefined;
    let failoverError: unknown; // stops the workers at once instead of letting them retry in vain
    const startFailover = async () => {
      const { killed, promoted } = await cluster.killMaster(keySlot(fnHit));
      progress.push(`${killed.address} killed, ${promoted.address} promoted`);
      await cluster.restartNode(killed.port); // back as the promoted master's replica: WAIT 1 can succeed again
      return { killed: killed.address, promoted: promoted.address };
    };
    await runLoad(ledgers, {
      workers: 3,
      transfers: 25,
      onApplied: (total) => {
        if (total !== 40) return; // mid-run, while every ledger is busy
        failover = startFailover();
        failover.catch((err) => (failoverError = err));
      },
      aborted: () => failoverError,
    });
    expect(failover).toBeDefined();
    const { killed, promoted } = await failover!;
    expect(promoted).not.toBe(killed);
    expect((await cluster.owner(keySlot(fnHit))).address).toBe(promoted);

    for (const [i, target] of ledgers.entries()) {
      expect(target.outcomes).toHaveLength(75);
      expect(target.outcomes.some((o) => o.applied)).toBe(true);
      const { actual, expected } = await ledgerState(target);
      expect({ ledger: plan[i][0], state: actual }).toEqual({ ledger: plan[i][0], state: expected });
      const total = (await Promise.all(target.accounts.map((id) => target.ledger.get(id)))).reduce((sum, a) => sum + a.balance, 0);
      expect(total).toBe(OPENING * target.accounts.length);
    }
    // The failover really hit the two ledgers on the killed master while they were busy.
    expect([retried(ledgers[0]) + retried(ledgers[1]) > 0, progress]).toEqual([true, expect.anything()]);
    // The promoted master got the library through replication.
    const version = await cluster.nodeClient(Number(promoted.split(':')[1])).call('FCALL_RO', 'accounts_version', 0);
    expect(typeof version).toBe('string');
  } finally {
    await Promise.all(fixtures.map((f) => f.close()));
  }
}, 240_000);
