import Redis, { Cluster } from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { dedicatedConnection, dedicatedNodeConnection, RedisClient } from './connection';
import { AtomicError, decodeRedisError, KernelErrorCode } from '../core/errors';
import { singleSlot } from '../core/slots';
import { durabilityOf, isTopologyError, onSlotMaster, refreshSlots, waitForReplicas } from './durability';
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
  /** Dedicated connections kept open (per master on a cluster); further transactions wait for one. Default 16. */
  poolSize: number;
  /**
   * Cluster only: attempts that found the slot moved or its master unreachable (MOVED/ASK, CLUSTERDOWN, a dropped
   * connection) are retried on the slot's current master after a slot-table refresh, `topologyDelayMs` apart, at
   * most this many times, then STORE_UNAVAILABLE. Nothing was written by such an attempt. Default 30 × 200 ms,
   * enough to ride out a failover with a short cluster-node-timeout.
   */
  topologyRetries: number;
  topologyDelayMs: number;
  /**
   * Queue this process's transactions that share a key (in-process FIFO, see key-locks.ts) so they stop
   * aborting each other's WATCH under contention. WATCH still guards against other processes. Default true.
   */
  queueSameKeys: boolean;
}

type Attempt<T> = { done: true; value: T } | { done: false; retry: 'conflict' | 'dropped' | 'moved' };

export const DEFAULT_WATCH_OPTIONS: WatchOptions = {
  maxAttempts: 12, baseDelayMs: 1, maxDelayMs: 50, poolSize: 16, queueSameKeys: true, topologyRetries: 30, topologyDelayMs: 200,
};

/**
 * MULTI/EXEC on the shared client, for operations that read nothing first. ioredis sends MULTI…EXEC as one
 * write, so it cannot interleave with other requests' commands. On a cluster ioredis routes it by its keys' slot.
 * Under `waitReplicas`, WAIT follows on the connection that ran it (on a cluster: the slot master's connection,
 * used directly — the transaction's keys are read from a first, never sent, copy of it).
 */
export async function execMulti(client: RedisClient, write: (multi: ChainableCommander) => void): Promise<unknown[]> {
  const durability = durabilityOf(client);
  let replies: [Error | null, unknown][] | null;
  try {
    if (!durability) {
      replies = await build(client, write).exec();
    } else if (client instanceof Cluster) {
      const slot = singleSlot(queuedKeys(build(client, write)));
      const { node, value } = await onSlotMaster(client, slot, (master) => build(master, write).exec());
      replies = value;
      if (replies) await waitForReplicas(node, durability);
    } else {
      replies = await build(client, write).exec();
      if (replies) await waitForReplicas(client, durability);
    }
  } catch (err) {
    throw decodeRedisError(err);
  }
  if (!replies) throw new Error('EXEC returned null without WATCH'); // cannot happen: nothing was watched
  return checkExecReplies(replies);
}

function build(client: RedisClient, write: (multi: ChainableCommander) => void): ChainableCommander {
  const multi = client.multi();
  write(multi);
  return multi;
}

/** The keys of the commands queued on a (not yet executed) transaction — ioredis' Pipeline keeps them in `_queue`. */
function queuedKeys(multi: ChainableCommander): string[] {
  const queue = (multi as unknown as { _queue?: { getKeys(): (string | Buffer)[] }[] })._queue ?? [];
  return queue.flatMap((command) => command.getKeys().map(String));
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
 *
 * On a Redis Cluster the keys must hash to one slot (else a clear error before anything is sent) and the
 * transaction runs on a dedicated connection to the master owning that slot (per the cluster client's slot table;
 * one pool per master). A node that answers MOVED/ASK (the slot moved), CLUSTERDOWN/TRYAGAIN, an EXECABORT caused
 * by those, or a connection that drops before EXEC (the master died) ran nothing: the attempt is retried from the
 * read on a fresh connection to the slot's current owner after a slot-table refresh. Once EXEC was sent, a lost
 * reply is OUTCOME_UNKNOWN as standalone. Nothing read on an old owner is ever committed: EXEC runs on the
 * connection that WATCHed, and a node that no longer serves the slot refuses the queued writes.
 *
 * Under `waitReplicas` a successful EXEC is followed by WAIT on the same connection (durability.ts).
 */
export class WatchRunner {
  private readonly options: WatchOptions;
  private readonly locks = new KeyLocks();
  private readonly pools = new Map<string, ConnectionPool>();
  /** Connections whose UNWATCH failed: never reused, even if they still look ready. */
  private readonly broken = new WeakSet<Redis>();
  private closed = false;

  constructor(private readonly shared: RedisClient, options: Partial<WatchOptions> = {}, private readonly observer?: AtomicObserver) {
    this.options = { ...DEFAULT_WATCH_OPTIONS, ...options };
  }

  /** True when writes are confirmed by WAIT (the shared client was connected with waitReplicas). */
  get durable(): boolean {
    return durabilityOf(this.shared) !== undefined;
  }

  async run<T>(keys: readonly string[], attempt: (connection: Redis) => Promise<WatchPlan<T>>): Promise<T> {
    const slot = this.shared instanceof Cluster ? singleSlot(keys) : undefined; // refuses cross-slot keys up front
    if (!this.options.queueSameKeys) return this.attempts(keys, slot, attempt);
    const release = await this.locks.acquire(keys);
    try {
      return await this.attempts(keys, slot, attempt);
    } finally {
      release();
    }
  }

  private async attempts<T>(keys: readonly string[], slot: number | undefined,
    attempt: (connection: Redis) => Promise<WatchPlan<T>>): Promise<T> {
    let dropped = 0;
    let moved = 0;
    for (let n = 1; ;) {
      const pool = this.poolFor(slot);
      let outcome: Attempt<T>;
      if (!pool) {
        outcome = { done: false, retry: 'moved' }; // no known master for the slot (yet)
      } else {
        const connection = await pool.acquire();
        this.observer?.watch('attempt');
        try {
          outcome = await this.once(connection, keys, attempt);
        } finally {
          pool.release(connection);
        }
      }
      if (outcome.done) return outcome.value;
      if (outcome.retry === 'conflict') this.observer?.watch('conflict');
      if (this.shared instanceof Cluster && outcome.retry !== 'conflict') {
        if (++moved > this.options.topologyRetries) {
          throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE,
            `no reachable master serves slot ${slot} (moved, down or failing over); nothing was written`, { slot });
        }
        await refreshSlots(this.shared);
        await delay(this.options.topologyDelayMs * (0.5 + Math.random() / 2));
        continue;
      }
      if (outcome.retry === 'dropped' && ++dropped > 2) {
        throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'the Redis connection dropped before EXEC; nothing was written');
      }
      if (n >= this.options.maxAttempts) {
        this.observer?.watch('exhausted');
        throw new AtomicError(KernelErrorCode.CONFLICT, `gave up after ${n} attempts: the data kept changing; retry later`,
          { attempts: n });
      }
      await delay(Math.random() * Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** n));
      n++;
    }
  }

  /** The pool of the server, or of the master that owns `slot` now (undefined while no master is known). */
  private poolFor(slot: number | undefined): ConnectionPool | undefined {
    const shared = this.shared;
    const node = shared instanceof Cluster ? shared.slots[slot!]?.[0] : 'standalone';
    if (!node) return undefined;
    let pool = this.pools.get(node);
    if (!pool) {
      const open = shared instanceof Cluster ? () => dedicatedNodeConnection(shared, node) : () => dedicatedConnection(shared);
      pool = new ConnectionPool(open, this.options.poolSize, (c) => !this.broken.has(c));
      if (this.closed) pool.close();
      this.pools.set(node, pool);
    }
    return pool;
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
      if (isTopologyError(err)) {
        this.broken.add(connection); // its WATCH state is unclear: not reused
        return { done: false, retry: 'moved' };
      }
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
      if (isTopologyError(err)) { // refused (MOVED on EXEC, or EXECABORT after a refused queued command): nothing ran
        this.broken.add(connection);
        return { done: false, retry: 'moved' };
      }
      const error = decodeRedisError(err); // EXEC was sent: applied or not, we cannot tell
      this.leftInDoubt(connection, error);
      throw error;
    }
    if (replies === null) return { done: false, retry: 'conflict' }; // a watched key changed: nothing applied
    const value = plan.result(checkExecReplies(replies));
    const durability = durabilityOf(this.shared);
    if (durability) {
      try {
        await waitForReplicas(connection, durability);
      } catch (err) {
        this.broken.add(connection); // a WAIT cut short may still be blocking the connection
        throw err;
      }
    }
    return { done: true, value };
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

  /** Closes idle connections; busy ones close as their transactions finish. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) pool.close();
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Dedicated connections to one server (or one cluster master), at most `size` open. */
class ConnectionPool {
  private readonly idle: Redis[] = [];
  private readonly waiting: { resolve: (connection: Redis) => void; reject: (err: Error) => void }[] = [];
  private open = 0;
  private closed = false;

  constructor(private readonly create: () => Redis, private readonly size: number, private readonly healthy: (c: Redis) => boolean) {}

  acquire(): Promise<Redis> {
    if (this.closed) return Promise.reject(new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'shutting down'));
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (this.reusable(idle)) return Promise.resolve(idle);
      this.discard(idle); // dropped while idle (server restart, CLIENT KILL, idle timeout)
    }
    if (this.open < this.size) {
      this.open++;
      return Promise.resolve(this.create());
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  release(connection: Redis): void {
    if (!this.reusable(connection) || this.closed) {
      this.discard(connection);
      if (this.waiting.length && !this.closed) {
        this.open++;
        this.waiting.shift()!.resolve(this.create());
      }
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(connection);
    else this.idle.push(connection);
  }

  /** Dedicated connections never reconnect: once closed (or left in doubt) they are done. */
  private reusable(connection: Redis): boolean {
    return connection.status !== 'end' && connection.status !== 'close' && this.healthy(connection);
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

  close(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) this.discard(connection);
    for (const waiter of this.waiting.splice(0)) waiter.reject(new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, 'shutting down'));
  }
}
