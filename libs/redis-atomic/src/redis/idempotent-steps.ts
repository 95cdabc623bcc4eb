import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { AtomicError } from '../core/errors';
import type { FunctionLibrary } from './functions';
import { encodeRecord, IdempotentCall, markReplayed, replayRecord } from '../core/idempotency';
import type { WatchPlan, WatchRunner } from './transactions';

/**
 * The two ways a Redis adapter makes a write and its idempotency record one atomic step (see idempotency.ts for
 * the record format both share, so either strategy replays the other's records):
 * - `idempotentFcall`: one FCALL of a Lua function wrapped by `idempotent(…)` (lua/accounts.lua documents it);
 * - `idempotentWatch`: one WATCH transaction that also WATCHes and reads the record, and writes it in the same
 *   MULTI as the effect — so even an operation that needs no WATCH of its own becomes one when it carries a key.
 */

/** A keyed FCALL: idempotency ARGV first, the record key last when keyed; the reply is `{ replayed, …values }`. */
export interface IdempotentFcall<T> {
  call: IdempotentCall | undefined;
  /** The record's key for a digest: in the same hash slot as `keys`. */
  recordKey: (digest: string) => string;
  keys: readonly string[];
  args: readonly (string | number)[];
  /** The reply values (after the `replayed` flag) as the result: numbers when fresh, strings when replayed. */
  decode: (values: unknown[]) => T;
}

export async function idempotentFcall<T>(lib: FunctionLibrary, fn: string, step: IdempotentFcall<T>): Promise<T> {
  const { call, keys, args, decode } = step;
  const reply = (await lib.call(fn, call ? [...keys, step.recordKey(call.digest)] : keys,
    [call?.fingerprint ?? '', call?.ttlSeconds ?? 0, ...args])) as unknown[];
  const result = decode(reply.slice(1));
  if (Number(reply[0]) !== 1) return result;
  await lib.confirm(step.recordKey(call!.digest), call!.ttlSeconds); // under waitReplicas: the replayed record is replicated
  return markReplayed(result);
}

/**
 * What a WATCH transaction decided on fresh reads:
 * - `values` + `write`: the effect (queued in MULTI) and the reply values (the Lua function's layout) — recorded;
 * - `error`: a business failure — recorded (with no other write) and thrown;
 * - `unrecorded`: a plan that is no outcome to keep (e.g. an EXEC confirming that a queue was empty): run as is,
 *   no record written, so a retry under the same key decides afresh.
 */
export type IdempotentDecision<T = never> =
  | { error: AtomicError }
  | { values: unknown[]; write: (multi: ChainableCommander) => void }
  | { unrecorded: WatchPlan<T> };

export interface IdempotentWatch<R, T> {
  call: IdempotentCall | undefined;
  /** The record's key for a digest: in the same hash slot as `keys`. */
  recordKey: (digest: string) => string;
  /** The keys to WATCH (the record's is added). `read` may WATCH more (keys named by what it read) before reading them. */
  keys: readonly string[];
  /** Reads on the transaction's connection; a throw (STORE_CORRUPTED…) aborts and records nothing. */
  read: (connection: Redis) => Promise<R>;
  decide: (data: R) => IdempotentDecision<T>;
  /** Reply values as the result: the fresh `values`, or a replayed record's (strings). */
  decode: (values: unknown[]) => T;
}

/**
 * One WATCH transaction: watch `keys` and the record, read both in the same round trip, decide, then MULTI the
 * writes — with the record of the outcome, success or business failure, in the same MULTI. A record already
 * there is replayed (its result marked, its error flagged `replayed`) and nothing is written.
 */
export function idempotentWatch<R, T>(watch: WatchRunner, step: IdempotentWatch<R, T>): Promise<T> {
  const { call, keys, read, decide, decode } = step;
  const record = call && step.recordKey(call.digest);
  return watch.run(record ? [...keys, record] : keys, async (connection): Promise<WatchPlan<T>> => {
    // allSettled: if one fails, the other's commands must be done before the connection is UNWATCHed and reused.
    const settled = await Promise.allSettled([record ? connection.get(record) : null, read(connection)]);
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    const [stored, data] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [string | null, R];
    if (call && stored !== null) {
      const replay = replayRecord(call, stored);
      if ('error' in replay) return { fail: replay.error };
      const value = markReplayed(decode(replay.values));
      // Under waitReplicas a replayed success is confirmed like a fresh one: re-setting the record's TTL is a
      // write on this connection after the record, so the WAIT that follows EXEC counts the record too.
      return watch.durable ? { write: (m) => m.expire(record!, call.ttlSeconds), result: () => value } : { value };
    }
    const decision = decide(data);
    if ('unrecorded' in decision) return decision.unrecorded;
    const save = (m: ChainableCommander, outcome: Parameters<typeof encodeRecord>[1]) => {
      if (call) m.set(record!, encodeRecord(call, outcome), 'EX', call.ttlSeconds);
    };
    if ('error' in decision) {
      if (!call) return { fail: decision.error };
      return { write: (m) => save(m, decision), result: () => { throw decision.error; } };
    }
    return {
      write: (m) => {
        decision.write(m);
        save(m, decision);
      },
      result: () => decode(decision.values),
    };
  });
}
