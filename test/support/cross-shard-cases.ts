import { AtomicError, isReplayed } from '@kernel/core';
import type { Transfer, TransferReceipt } from '../../src/accounts/accounts.port';
import type { Step } from '../../src/accounts/spread/coordinator';
import type { SpreadOptions } from '../../src/accounts/spread/adapters/create-spread';
import { uniqueIds } from './accounts-fixture';
import { Crash, idsOnShards, openHolds, SpreadFixture, sweepUntil, txidOf } from './spread';

export type MakeSpread = (ledger: string, options: SpreadOptions) => Promise<SpreadFixture>;

const outcomeOf = <T>(promise: Promise<T>): Promise<T | unknown> => promise.then((v) => v, (e) => e);

/** A crash point: the coordinator dies right after the nth completion of `step`. */
export interface CrashPoint {
  step: Step;
  nth: number;
  /** Whether the decision was made when it dies (so the transaction must end COMMITTED on the commit path). */
  decided: boolean;
}

export const COMMIT_POINTS: CrashPoint[] = [
  { step: 'begin', nth: 1, decided: false }, { step: 'hold', nth: 1, decided: false }, { step: 'hold', nth: 2, decided: false },
  { step: 'decide', nth: 1, decided: true }, { step: 'post', nth: 1, decided: true }, { step: 'post', nth: 2, decided: true },
  { step: 'finish', nth: 1, decided: true },
];
export const ABORT_POINTS: CrashPoint[] = [
  { step: 'begin', nth: 1, decided: false }, { step: 'hold', nth: 1, decided: false }, { step: 'hold', nth: 2, decided: false },
  { step: 'decide', nth: 1, decided: true }, { step: 'void', nth: 1, decided: true }, { step: 'void', nth: 2, decided: true },
  { step: 'finish', nth: 1, decided: true },
];

export interface CrashCase {
  path: 'commit' | 'abort';
  point: CrashPoint;
  recovery: 'sweeper' | 'retry';
}

export const CRASH_CASES: CrashCase[] = (['sweeper', 'retry'] as const).flatMap((recovery) => [
  ...COMMIT_POINTS.map((point) => ({ path: 'commit' as const, point, recovery })),
  ...ABORT_POINTS.map((point) => ({ path: 'abort' as const, point, recovery })),
]);

export const caseName = (c: CrashCase) => `${c.path}: killed after ${c.point.step} #${c.point.nth}, then ${c.recovery}`;

/**
 * One cell of the crash matrix: a cross-shard transfer whose coordinator dies after a given step (a hook throws,
 * so nothing after it runs), then recovery by the sweeper (past deadline + grace) or by a retry with the same
 * Idempotency-Key. Afterwards: one final state, money conserved, no hold, no pending balance, audit clean — and a
 * later retry replays the stored outcome.
 */
export async function runCrashCase(make: MakeSpread, c: CrashCase): Promise<void> {
  let armed = true;
  let seen = 0;
  const fixture = await make(uniqueIds('crash')[0], {
    spread: 4, timeoutMs: c.recovery === 'sweeper' ? 300 : 20_000, graceMs: 200,
    hooks: { after: (step) => {
      if (armed && step === c.point.step && ++seen === c.point.nth) {
        armed = false;
        throw new Crash(`killed after ${step} #${seen}`);
      }
    } },
  });
  try {
    const { ledger: l, parts } = fixture;
    const ledger = parts.routing.ledger; // the fixture may pick another name (a cluster: shards on distinct masters)
    const [a, b] = idsOnShards(parts, 2, 'acct', fixture.acceptShards);
    await l.open({ id: a, balance: 100 });
    await l.open({ id: b });
    const cmd: Transfer = { from: a, to: b, amount: c.path === 'commit' ? 60 : 160 };
    const key = uniqueIds('key')[0];
    const txid = txidOf(ledger, key, [cmd]);
    const bucket = parts.routing.bucketOf(txid);
    const first = await outcomeOf(l.transfer(cmd, { idempotencyKey: key }));
    expect(first).toBeInstanceOf(Crash);
    let final: unknown;
    if (c.recovery === 'retry') {
      final = await outcomeOf(l.transfer(cmd, { idempotencyKey: key }));
    } else {
      await sweepUntil(parts, async () => (await parts.store!.tx(bucket, txid))?.finished === true);
    }
    const tx = (await parts.store!.tx(bucket, txid))!;
    expect(tx.finished).toBe(true);
    // The one final state: a decision made before the crash stands; otherwise a retry commits (before the deadline)
    // and the sweeper aborts (past it). The abort path's hold is refused: always ABORTED.
    const committed = c.path === 'commit' && (c.point.decided || c.recovery === 'retry');
    expect(tx.state).toBe(committed ? 'COMMITTED' : 'ABORTED');
    const [from, to] = [await l.get(a), await l.get(b)];
    expect(from.balance + to.balance).toBe(100);
    expect([from.balance, to.balance]).toEqual(committed ? [40, 60] : [100, 0]);
    expect([from.pendingDebits, from.pendingCredits, to.pendingDebits, to.pendingCredits]).toEqual([0, 0, 0, 0]);
    expect(await openHolds(parts)).not.toContain(txid);
    for (const [id] of [[a], [b]]) expect(await parts.store!.audit(parts.routing.shardOf(id), [id])).toEqual([]);
    if (c.recovery === 'retry') {
      if (committed) expect(final).toMatchObject({ from: { id: a, balance: 40 }, to: { id: b, balance: 60 }, amount: 60 });
      else expect(final).toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    }
    // A later retry replays the stored outcome and changes nothing.
    const replay = await outcomeOf(l.transfer(cmd, { idempotencyKey: key }));
    if (committed) {
      expect(replay).toMatchObject({ from: { id: a, balance: 40 }, to: { id: b, balance: 60 } });
      expect(isReplayed(replay)).toBe(true);
    } else {
      expect(replay).toBeInstanceOf(AtomicError);
      // The refusal is the reason — the coordinator's, its retry's, or the sweeper's (it reads the refused vote) —
      // except when the sweeper aborts a transaction that never reached its holds: then it says timeout.
      const refusal = c.path === 'abort' && !(c.recovery === 'sweeper' && c.point.step === 'begin');
      expect((replay as AtomicError).code).toBe(refusal ? 'INSUFFICIENT_FUNDS' : 'TRANSFER_ABORTED');
      expect((replay as AtomicError).replayed).toBe(true);
    }
    expect((await l.get(a)).balance).toBe(committed ? 40 : 100);
    // History: one entry per account when committed, none otherwise.
    const [ha, hb] = [await l.history(a), await l.history(b)];
    expect(ha.entries.filter((e) => e.type === 'transfer_out')).toHaveLength(committed ? 1 : 0);
    expect(hb.entries.filter((e) => e.type === 'transfer_in')).toHaveLength(committed ? 1 : 0);
  } finally {
    await fixture.close();
  }
}

/** Balance 100, two concurrent cross-shard transfers of 100 from it: exactly one commits. */
export async function runDoubleSpend(make: MakeSpread, rounds: number): Promise<void> {
  const fixture = await make(uniqueIds('dbl')[0], { spread: 4, timeoutMs: 20_000, graceMs: 2000 });
  try {
    const { ledger: l, parts } = fixture;
    for (let round = 0; round < rounds; round++) {
      const [a, b, c] = idsOnShards(parts, 3, `r${round}-${uniqueIds('x')[0]}-`, fixture.acceptShards);
      await l.open({ id: a, balance: 100 });
      await l.open({ id: b });
      await l.open({ id: c });
      const results = await Promise.all([outcomeOf(l.transfer({ from: a, to: b, amount: 100 })), outcomeOf(l.transfer({ from: a, to: c, amount: 100 }))]);
      const ok = results.filter((r) => !(r instanceof Error)) as TransferReceipt[];
      const failed = results.filter((r) => r instanceof Error) as AtomicError[];
      expect(ok).toHaveLength(1);
      expect(failed.map((e) => e.code)).toEqual(['INSUFFICIENT_FUNDS']);
      const [ga, gb, gc] = [await l.get(a), await l.get(b), await l.get(c)];
      expect(ga.balance).toBe(0);
      expect(gb.balance + gc.balance).toBe(100);
      expect([ga.pendingDebits, gb.pendingCredits, gc.pendingCredits]).toEqual([0, 0, 0]);
    }
  } finally {
    await fixture.close();
  }
}
