import { keySlot, KeySpace } from '@kernel/core';
import { allKeys, RedisCluster } from '@kernel/testing';
import { ledgerFixture, LedgerFixture } from '../support/accounts-fixture';
import { LoadedLedger, ledgerState, openLedger, runLoad } from './load';

/**
 * Resharding a busy ledger: while functions and transactions instances transfer on one ledger (one slot), the
 * slot is moved to another master key batch by key batch (MIGRATING/IMPORTING, MIGRATE, SETSLOT NODE). The new
 * owner has lost its functions beforehand (as a freshly added master would lack them). Requests see ASK, TRYAGAIN,
 * MOVED and "Function not found" and succeed or are retried safely: the final state is exactly what the definite
 * outcomes imply, every key of the ledger is on the new owner, and the library is there.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start({ replicas: 0 })), 120_000);
afterAll(() => cluster.stop(), 30_000);

it('moves a busy ledger to another master: requests succeed or are safely retried, functions follow', async () => {
  const ledger = 'moving';
  const slot = keySlot(ledger);
  const source = await cluster.owner(slot);
  const target = (await cluster.masters()).find((m) => m.id !== source.id)!;
  const fixtures: LedgerFixture[] = await Promise.all((['functions', 'transactions'] as const).map((strategy) =>
    ledgerFixture(strategy, cluster, { ledger })));
  try {
    const ledgers: LoadedLedger[] = [];
    for (const fixture of fixtures) ledgers.push(await openLedger(fixture.ledger, 4));
    const onTarget = cluster.nodeClient(target.port);
    await onTarget.call('FUNCTION', 'FLUSH'); // the new owner lacks the library

    let moving: Promise<void> | undefined;
    let moveError: unknown;
    const batchesMoved: number[] = [];
    await runLoad(ledgers, {
      workers: 3,
      transfers: 30,
      onApplied: (total) => {
        if (total !== 30) return; // mid-run
        moving = cluster.moveSlot(slot, target.port, async () => {
          batchesMoved.push(Date.now());
          await new Promise((resolve) => setTimeout(resolve, 30)); // let the load hit the half-moved slot
        });
        moving.catch((err) => (moveError = err));
      },
      aborted: () => moveError,
    });
    expect(moving).toBeDefined();
    await moving;
    expect(batchesMoved.length).toBeGreaterThan(1); // the slot really was half-moved for a while

    expect((await cluster.owner(slot)).id).toBe(target.id);
    const prefix = new KeySpace('ra', ledger).pattern.slice(0, -1);
    expect((await allKeys(cluster.nodeClient(source.port))).filter((k) => k.startsWith(prefix))).toEqual([]);
    expect((await allKeys(onTarget)).filter((k) => k.startsWith(prefix)).length).toBeGreaterThan(8);
    for (const target of ledgers) {
      expect(target.outcomes).toHaveLength(90);
      const { actual, expected } = await ledgerState(target);
      expect(actual).toEqual(expected);
    }
    expect(typeof await onTarget.call('FCALL_RO', 'accounts_version', 0)).toBe('string'); // reloaded on the new owner
  } finally {
    await Promise.all(fixtures.map((f) => f.close()));
  }
}, 180_000);
