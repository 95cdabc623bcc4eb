import { AtomicError, KernelErrorCode } from '@kernel/core';
import type { EscrowStore, Marker, PostedLegs } from './escrow.port';
import { holdParticipants } from './escrow.port';
import { abortReason, outcomeOf } from './coordinator';

export interface SweepReport {
  /** Transactions this sweep drove to their end, by final state. */
  committed: number;
  aborted: number;
  /** Due entries whose record was gone (taken off the index). */
  missing: number;
  /** Protocol violations seen (post after void…): must stay 0; each is also in `alerts`. */
  conflicts: number;
  alerts: string[];
  /** Transactions whose step failed this time (Redis unavailable, a failover…): left on the index for the next sweep. */
  errors: string[];
}

const TIMEOUT_REASON = 'TRANSFER_ABORTED {"message":"the transaction was not decided before its deadline","reason":"timeout"}';

/**
 * Finishes what crashed or stalled coordinators left, from any instance, concurrently with them and with other
 * sweepers — every step it takes is idempotent and every decision a compare-and-set:
 *   record missing → off the index · PREPARING past deadline + grace → ABORTED (unless a participant already
 *   POSTED: the evidence rule commits it) · COMMITTED → post everywhere · ABORTED → void everywhere · then finish.
 */
export class EscrowSweeper {
  constructor(private readonly store: EscrowStore, private readonly graceMs: number) {}

  /** One pass over every bucket: up to `limit` due transactions each. */
  async sweep(limit = 100): Promise<SweepReport> {
    const report: SweepReport = { committed: 0, aborted: 0, missing: 0, conflicts: 0, alerts: [], errors: [] };
    for (let bucket = 0; bucket < this.store.shards; bucket++) {
      let due: string[];
      try {
        due = await this.store.due(bucket, limit);
      } catch (err) {
        report.errors.push(`bucket ${bucket}: ${(err as Error).message}`);
        continue; // one unreachable shard does not stop the others
      }
      for (const txid of due) {
        try {
          await this.resume(bucket, txid, report);
        } catch (err) {
          report.errors.push(`${txid}: ${(err as Error).message}`);
        }
      }
    }
    return report;
  }

  /** Drives one transaction to its end (or leaves it when it is PREPARING and not yet due). */
  async resume(bucket: number, txid: string, report: SweepReport): Promise<void> {
    const tx = await this.store.tx(bucket, txid);
    if (!tx) {
      await this.store.finish(bucket, txid, '');
      report.missing++;
      return;
    }
    let state = tx.state;
    if (state === 'PREPARING') {
      const markers = await Promise.all(tx.participants.map((shard) => this.store.marker(shard, txid)));
      // A participant's refusal is the reason (what the coordinator would have said); else the timeout.
      const refusals = markers.filter((m): m is Extract<Marker, { kind: 'REFUSED' }> => m?.kind === 'REFUSED');
      const reason = refusals.length > 0 ? abortReason(refusals) : TIMEOUT_REASON;
      const decision = markers.some((m) => m?.kind === 'POSTED')
        ? await this.store.decide(bucket, txid, 'COMMITTED', '', 'evidence', tx.participants, this.graceMs)
        : await this.store.decide(bucket, txid, 'ABORTED', reason, 'sweeper', tx.participants, this.graceMs);
      if (decision.state === 'PREPARING' || decision.state === 'MISSING') return; // not due yet / gone meanwhile
      state = decision.state;
    }
    if (tx.finished) {
      await this.store.finish(bucket, txid, tx.outcome);
      return;
    }
    if (state === 'COMMITTED') {
      const posted: PostedLegs[] = [];
      for (const shard of tx.participants) {
        const result = await this.store.post(shard, txid);
        if (result.kind === 'POSTED') posted.push(result.posted);
        else this.alert(report, `COMMITTED ${txid}: shard ${shard} answers ${result.kind}${'with' in result ? ` ${result.with}` : ''}`);
      }
      if (posted.length !== tx.participants.length) return; // left on the index: an operator must look
      const items = Math.max(...posted.flatMap((p) => p.legs.map((l) => l.index))) + 1;
      await this.store.finish(bucket, txid, outcomeOf(items, posted));
      report.committed++;
      return;
    }
    let ok = true;
    for (const shard of tx.participants) {
      const result = await this.store.void(shard, txid);
      if (result.kind !== 'VOIDED') {
        ok = false;
        this.alert(report, `ABORTED ${txid}: shard ${shard} is ${result.with}`);
      }
    }
    if (!ok) return;
    await this.store.finish(bucket, txid, '');
    report.aborted++;
  }

  /**
   * The repair scan (rare): holds whose transaction record is gone (lost in a failover before it replicated) and
   * that are older than their deadline + grace. By the evidence rule a hold of a transaction another participant
   * posted is committed and posted; otherwise the record is re-created ABORTED (so a late begin cannot revive it)
   * and the hold voided. Returns what it repaired.
   */
  async repair(nowMs: number, bucketOf: (txid: string) => number): Promise<string[]> {
    const repaired: string[] = [];
    for (let shard = 0; shard < this.store.shards; shard++) {
      for (const [txid, hold] of await this.store.holds(shard)) {
        const deadline = Number(hold.split('|')[0]);
        if (nowMs < deadline + this.graceMs) continue;
        const bucket = bucketOf(txid);
        if (await this.store.tx(bucket, txid)) continue; // the sweeper's business
        const participants = holdParticipants(hold);
        const markers = await Promise.all(participants.map((s) => this.store.marker(s, txid)));
        if (markers.some((m) => m?.kind === 'POSTED')) {
          await this.store.decide(bucket, txid, 'COMMITTED', '', 'evidence', participants, this.graceMs);
        } else {
          await this.store.decide(bucket, txid, 'ABORTED', TIMEOUT_REASON, 'coordinator', participants, this.graceMs);
          for (const s of participants) await this.store.void(s, txid);
        }
        repaired.push(txid);
      }
    }
    return repaired;
  }

  private alert(report: SweepReport, message: string): void {
    report.conflicts++;
    report.alerts.push(message);
  }
}

export const sweepFailed = (report: SweepReport): AtomicError | undefined => (report.conflicts === 0 ? undefined
  : new AtomicError(KernelErrorCode.STORE_CORRUPTED, `escrow sweep found ${report.conflicts} protocol violation(s): ${report.alerts.join('; ')}`));
