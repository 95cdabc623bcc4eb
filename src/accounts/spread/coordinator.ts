import { AtomicError, decodeRedisError, IdempotentCall, KernelErrorCode, markReplayed } from '@kernel/core';
import { randomUUID } from 'node:crypto';
import type { Transfer, TransferReceipt } from '../accounts.port';
import type { EscrowStore, Leg, PostedLegs, TxState, TxView, Vote } from './escrow.port';
import type { SpreadRouting } from './spread-keys';

/** The coordinator's steps, as test hooks see them (the crash matrix kills it after each). */
export type Step = 'begin' | 'hold' | 'decide' | 'post' | 'void' | 'finish';

export interface CoordinatorHooks {
  /** Called after each step completed (per participant for hold / post / void). A throw stops the coordinator there. */
  after?(step: Step, detail: { txid: string; shard?: number }): void | Promise<void>;
}

export interface CoordinatorOptions {
  /** How long a transaction may stay PREPARING (server time of its bucket). Default 5000 ms. */
  timeoutMs: number;
  /** The sweeper aborts a PREPARING one only after deadline + grace, and finishes a decided one after grace. Default 2000 ms. */
  graceMs: number;
  hooks?: CoordinatorHooks;
}

/** Thrown to report a protocol violation that must not happen (post after void…): alert. */
const violation = (message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message);

/** A transaction's items split into legs per shard. */
export interface Plan {
  txid: string;
  itemIds: string[];
  participants: number[];
  legs: Map<number, Leg[]>;
}

export function planOf(routing: SpreadRouting, cmds: readonly Transfer[], txid: string, itemIds: string[]): Plan {
  const legs = new Map<number, Leg[]>();
  const add = (leg: Leg) => {
    const shard = routing.shardOf(leg.account);
    if (!legs.has(shard)) legs.set(shard, []);
    legs.get(shard)!.push(leg);
  };
  cmds.forEach((cmd, index) => {
    add({ account: cmd.from, index, itemId: itemIds[index], amount: -cmd.amount, counterparty: cmd.to, floor: cmd.minBalance });
    add({ account: cmd.to, index, itemId: itemIds[index], amount: cmd.amount, counterparty: cmd.from });
  });
  return { txid, itemIds, participants: [...legs.keys()].sort((a, b) => a - b), legs };
}

/**
 * Runs one cross-shard transaction: begin → hold on every participant (in parallel) → decide (the commit point; the
 * store's FCALL is followed by WAIT when the kernel has waitReplicas) → post or void everywhere → finish. Every step
 * is idempotent, so a retry of the same request (same txid and fingerprint) drives the same transaction to its end
 * and returns the stored outcome; what a crashed coordinator left, the sweeper finishes.
 */
export class Coordinator {
  constructor(private readonly store: EscrowStore, private readonly routing: SpreadRouting, private readonly options: CoordinatorOptions) {}

  async run(cmds: readonly Transfer[], call: IdempotentCall | undefined, batch: boolean): Promise<TransferReceipt[]> {
    const txid = call ? call.id(-1) : randomUUID();
    const itemIds = cmds.map((_, i) => (call ? call.id(i) : i === 0 && !batch ? txid : randomUUID()));
    const plan = planOf(this.routing, cmds, txid, itemIds);
    const bucket = this.routing.bucketOf(txid);
    const { timeoutMs, graceMs } = this.options;
    const tx = await this.store.begin(bucket, txid, call?.fingerprint ?? 'none', plan.participants, timeoutMs, graceMs);
    await this.step('begin', txid);
    const replayed = tx.state !== 'PREPARING';
    if (tx.finished) return this.outcome(cmds, plan, tx.state, tx.reason, tx.outcome, batch, true);
    let state: TxState = tx.state;
    let reason = tx.reason;
    if (state === 'PREPARING') ({ state, reason } = await this.prepare(plan, bucket, tx));
    if (state === 'COMMITTED') {
      const posted = await Promise.all(plan.participants.map(async (shard) => {
        const result = await this.store.post(shard, txid);
        if (result.kind !== 'POSTED') throw violation(`transaction ${txid} is COMMITTED but shard ${shard} answers ${result.kind}` +
          ('with' in result ? ` ${result.with}` : ''));
        await this.step('post', txid, shard);
        return result.posted;
      }));
      const outcome = outcomeOf(cmds.length, posted);
      await this.store.finish(bucket, txid, outcome);
      await this.step('finish', txid);
      return this.outcome(cmds, plan, state, reason, outcome, batch, replayed);
    }
    await Promise.all(plan.participants.map(async (shard) => {
      const result = await this.store.void(shard, txid);
      if (result.kind !== 'VOIDED') throw violation(`transaction ${txid} is ABORTED but shard ${shard} is ${result.with}`);
      await this.step('void', txid, shard);
    }));
    await this.store.finish(bucket, txid, '');
    await this.step('finish', txid);
    return this.outcome(cmds, plan, state, reason, '', batch, replayed);
  }

  /** Holds everywhere, then the one compare-and-set that decides. */
  private async prepare(plan: Plan, bucket: number, tx: TxView): Promise<{ state: TxState; reason: string }> {
    const { txid, participants } = plan;
    const votes: Vote[] = await Promise.all(participants.map(async (shard) => {
      const vote = await this.store.hold(shard, txid, tx.deadlineMs, participants, plan.legs.get(shard)!);
      await this.step('hold', txid, shard);
      return vote;
    }));
    let decision;
    if (votes.some((v) => v.kind === 'POSTED')) {
      // Evidence rule: a posted participant means the transaction committed (its record was lost, e.g. in a failover).
      decision = await this.store.decide(bucket, txid, 'COMMITTED', '', 'evidence', participants, this.options.graceMs);
    } else if (votes.every((v) => v.kind === 'HELD')) {
      decision = await this.store.decide(bucket, txid, 'COMMITTED', '', 'coordinator', participants, this.options.graceMs);
    } else {
      decision = await this.store.decide(bucket, txid, 'ABORTED', abortReason(votes), 'coordinator', participants, this.options.graceMs);
    }
    await this.step('decide', txid);
    if (decision.state === 'MISSING') {
      throw new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN, `the record of transaction ${txid} is gone (failover?); retry with the same Idempotency-Key`);
    }
    return { state: decision.state, reason: decision.reason };
  }

  private outcome(cmds: readonly Transfer[], plan: Plan, state: TxState, reason: string, outcome: string, batch: boolean, replayed: boolean):
    TransferReceipt[] {
    if (state === 'ABORTED') {
      const error = decodeRedisError(new Error(reason || 'TRANSFER_ABORTED {"message":"the transaction was aborted"}'));
      if (!(error instanceof AtomicError)) throw error;
      const { index, ...single } = error.details;
      const typed = new AtomicError(error.code, error.message, batch ? error.details : single);
      typed.replayed = replayed;
      throw typed;
    }
    if (state !== 'COMMITTED') {
      throw new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN, `transaction ${plan.txid} is still ${state}; retry with the same Idempotency-Key`);
    }
    const values = outcome.split(',').map(Number);
    const at = new Date(values[0]).toISOString();
    const receipts = cmds.map((cmd, i): TransferReceipt => ({
      id: plan.itemIds[i], from: { id: cmd.from, balance: values[1 + 2 * i] }, to: { id: cmd.to, balance: values[2 + 2 * i] }, amount: cmd.amount, at,
    }));
    if (replayed) {
      markReplayed(receipts);
      receipts.forEach((r) => markReplayed(r));
    }
    return receipts;
  }

  private async step(step: Step, txid: string, shard?: number): Promise<void> {
    await this.options.hooks?.after?.(step, { txid, shard });
  }
}

/** The reason of an abort: the refusal of the earliest item (ranks order a source before a target, as a batch checks them). */
export function abortReason(votes: Vote[]): string {
  const refusals = votes.filter((v): v is Extract<Vote, { kind: 'REFUSED' }> => v.kind === 'REFUSED')
    .sort((a, b) => a.index - b.index || a.rank - b.rank);
  if (refusals.length > 0) return refusals[0].error;
  return 'TRANSFER_ABORTED {"message":"a participant was voided before it was held","reason":"voided"}';
}

/** `<ms>,<from balance 0>,<to balance 0>,…` from every participant's post reply. */
export function outcomeOf(items: number, posted: PostedLegs[]): string {
  const values = new Array<number>(1 + 2 * items).fill(0);
  for (const { ms, legs } of posted) {
    values[0] = Math.max(values[0], ms);
    for (const leg of legs) values[1 + 2 * leg.index + (leg.role === 'o' ? 0 : 1)] = leg.balance;
  }
  return values.join(',');
}
