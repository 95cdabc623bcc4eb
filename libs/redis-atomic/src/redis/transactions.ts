import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { dedicatedConnection } from './connection';
import { AtomicError, decodeRedisError, KernelErrorCode } from '../core/errors';
import { KeyLocks } from './key-locks';
import type { AtomicObserver } from '../core/observer';

/**
 * What a WATCH attempt decided after its reads: the writes to queue in MULTI (and how to read their replies),
 * a (business) failure, or a value that needs no write (e.g. a replayed outcome). The last two UNWATCH.
 */
export type WatchPlan<T> =
  | { fail: Error }
  | { value: T }
  | { write: (multi: ChainableCommander) => void; result: (replies: unknown[]) => T };

export interface WatchOptions {
  /** Attempts before CONFLICT. Default 12. */
  maxAttempts: number;
  /** Backoff before attempt n is uniform in [0, min(maxDelayMs, baseDelayMs * 2^n)] ("full jitter"). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Dedicated connections kept open; further transactions wait for one. Default 16. */
  poolSize: number;
  /**
   * Queue this process's transactions that share a key (in-process FIFO, see key-locks.ts) so they stop
   * aborting each other's WATCH under contention. WATCH still guards against other processes. Default true.
   */
  queueSameKeys: boolean;
}

type Attempt<T> = { done: true; value: T } | { done: false; retry: 'conflict' | 'dropped' };

export const DEFAULT_WATCH_OPTIONS: WatchOptions = { maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 50, poolSize: 16, queueSameKeys: true };

/**
 * MULTI/EXEC on the shared client, for operations that read nothing first. ioredis sends MULTI…EXEC as one
 * write, so it cannot interleave with other requests' commands.
 */
export async function execMulti(client: Redis, write: (multi: ChainableCommander) => void): Promise<unknown[]> {
  const multi = client.multi();
  write(multi);
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await multi.exec();
  } catch (err) {
    throw decodeRedisError(err);
  }
  if (!replies) throw new Error('EXEC returned null without WATCH'); // cannot happen: nothing was watched
  return checkExecReplies(replies);
}

/**
 * EXEC's replies are `[error, result]` pairs and Redis has already applied the commands that did not fail:
 * there is no rollback. A transaction with any failed command is never reported as success.
 */
export function checkExecReplies(replies: [Error | null, unknown][]): unknown[] {
  const failed = replies.findIndex(([err]) => err);
  if (failed >= 0) {
    const cause = replies[failed][0] as Error;
    throw new AtomicError(KernelErrorCode.STORE_CORRUPTED,
      `command ${failed + 1} of the transaction failed after the others were applied: ${cause.message}`, { command: failed });
  }
  return replies.map(([, result]) => result);
}

/**
 * Optimistic transactions: WATCH keys → read → decide → MULTI/EXEC, retried from the read when a watched key
 * changed, with bounded, jittered backoff ending in CONFLICT.
 *
 * Each transaction runs on a dedicated connection from a small pool (a WATCH belongs to a connection: another
 * request's EXEC on a shared connection would clear it). Every abort path UNWATCHes before the connection
 * goes back. Connections never reconnect (connection.ts), so a drop between WATCH and EXEC fails closed:
 * if EXEC was not yet sent we retry from the read on a fresh connection; if it was, the outcome is unknown.
 */
export class WatchRunner {
  private readonly options: WatchOptions;
  private readonly locks = new KeyLocks();
  private readonly idle: Redis[] = [];
  private readonly waiting: { resolve: (connection: Redis) => void; reject: (err: Error) => void }[] = [];
  /** Connections whose UNWATCH failed: never reused, even if they still look ready. */
  private readonly broken = new WeakSet<Redis>();
  private open = 0;
  private closed = false;

  constructor(private readonly shared: Redis, options: Partial<WatchOptions> = {}, private readonly observer?: AtomicObserver) {
    this.options = { ...DEFAULT_WATCH_OPTIONS, ...options };
  }

  async run<T>(keys: readonly string[], attempt: (connection: Redis) => Promise<WatchPlan<T>>): Promise<T> {
    if (!this.options.queueSameKeys) return this.attempts(keys, attempt);
    const release = await this.locks.acquire(keys);
    try {
      return await this.attempts(keys, attempt);
    } finally {
      release();
    }
  }

  private async attempts<T>(keys: readonly string[], attempt: (connection: Redis) => Promise<WatchPlan<T>>): Promise<T> {
    let dropped = 0;
    for (let n = 1; ; n++) {
      const connection = await this.acquire();
      let outcome: Attempt<T>;
      this.observer?.watch('attempt');
      try {
        outcome = await this.once(connection, keys, attempt);
      } finally {
        this.release(connection);
      }
      if (outcome.done) return outcome.value;
      if (outcome.retry === 'dropped' && ++dropped > 2) {
        throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'the Redis connection dropped before EXEC; nothing was written');
      }
      if (outcome.retry === 'conflict') this.observer?.watch('conflict');
      if (n >= this.options.maxAttempts) {
        this.observer?.watch('exhausted');
        throw new AtomicError(KernelErrorCode.CONFLICT, `gave up after ${n} attempts: the data kept changing; retry later`,
          { attempts: n });
      }
      const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** n);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * cap));
    }
  }

  /** One attempt; `retry` says why it must start again from the read (nothing was written either way). */
  private async once<T>(connection: Redis, keys: readonly string[], attempt: (c: Redis) => Promise<WatchPlan<T>>):
    Promise<Attempt<T>> {
    let plan: WatchPlan<T>;
    try {
      await connection.watch(...keys);
      plan = await attempt(connection);
    } catch (err) {
      if (connection.status !== 'ready') return { done: false, retry: 'dropped' };
      const error = decodeRedisError(err);
      // The server refused a command for lack of rights (ACL): nothing ran, the connection is fine, and retrying
      // cannot help — say so (STORE_UNAVAILABLE naming NOPERM), not "the connection dropped".
      if (err instanceof Error && /^(NOPERM|NOAUTH)\b/.test(err.message)) {
        await this.unwatch(connection);
        throw error;
      }
      // A timeout before EXEC wrote nothing: retry from the read on a fresh connection (counted as a drop).
      if (this.leftInDoubt(connection, error)) return { done: false, retry: 'dropped' };
      await this.unwatch(connection);
      throw error;
    }
    if ('fail' in plan) {
      await this.unwatch(connection);
      throw plan.fail;
    }
    if ('value' in plan) {
      await this.unwatch(connection);
      return { done: true, value: plan.value };
    }
    // Checked in the same tick as the EXEC write: a connection that is ready now sends EXEC under our WATCH.
    if (connection.status !== 'ready') return { done: false, retry: 'dropped' };
    const multi = connection.multi();
    plan.write(multi);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await multi.exec();
    } catch (err) {
      const error = decodeRedisError(err); // EXEC was sent: applied or not, we cannot tell
      this.leftInDoubt(connection, error);
      throw error;
    }
    if (replies === null) return { done: false, retry: 'conflict' }; // a watched key changed: nothing applied
    return { done: true, value: plan.result(checkExecReplies(replies)) };
  }

  /**
   * A command that timed out (or failed in transit) may still be held or run by the server: the connection is
   * not reused (the next transaction would queue behind it), and its WATCH state is unknown.
   */
  private leftInDoubt(connection: Redis, error: unknown): boolean {
    const inDoubt = error instanceof AtomicError &&
      (error.code === KernelErrorCode.OUTCOME_UNKNOWN || error.code === KernelErrorCode.STORE_UNAVAILABLE);
    if (inDoubt) this.broken.add(connection);
    return inDoubt;
  }

  private async unwatch(connection: Redis): Promise<void> {
    await connection.unwatch().catch(() => this.broken.add(connection)); // it may still hold a WATCH: not reused
  }

  private acquire(): Promise<Redis> {
    if (this.closed) return Promise.reject(new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'shutting down'));
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (this.reusable(idle)) return Promise.resolve(idle);
      this.discard(idle); // dropped while idle (server restart, CLIENT KILL, idle timeout)
    }
    if (this.open < this.options.poolSize) {
      this.open++;
      return Promise.resolve(dedicatedConnection(this.shared));
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(connection: Redis): void {
    if (!this.reusable(connection) || this.closed) {
      this.discard(connection);
      if (this.waiting.length && !this.closed) {
        this.open++;
        this.waiting.shift()!.resolve(dedicatedConnection(this.shared));
      }
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(connection);
    else this.idle.push(connection);
  }

  /** Dedicated connections never reconnect: once closed (or left in doubt) they are done. */
  private reusable(connection: Redis): boolean {
    return connection.status !== 'end' && connection.status !== 'close' && !this.broken.has(connection);
  }

  private discard(connection: Redis): void {
    if (connection.status === 'ready') {
      // QUIT queues behind what the server may still hold (e.g. an EXEC held by CLIENT PAUSE), which then runs
      // as it would have instead of being cut off. No client timeout on it; a bound in case the server hangs.
      connection.options.commandTimeout = undefined;
      const bound = setTimeout(() => connection.disconnect(), 30_000).unref();
      connection.quit().catch(() => connection.disconnect()).finally(() => clearTimeout(bound));
    } else if (connection.status !== 'end') {
      connection.disconnect(); // an ended one is closed already: disconnect() would only leave a 2 s timer behind
    }
    this.open--;
  }

  /** Closes idle connections; busy ones close as their transactions finish. */
  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) this.discard(connection);
    for (const waiter of this.waiting.splice(0)) waiter.reject(new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'shutting down'));
  }
}
