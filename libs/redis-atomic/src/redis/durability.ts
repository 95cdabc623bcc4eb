import Redis, { Cluster } from 'ioredis';
import { AtomicError, KernelErrorCode } from '../core/errors';

/**
 * Synchronous-replication acknowledgement of writes (`WAIT numreplicas timeout`).
 *
 * WAIT counts per CONNECTION: Redis remembers, for each client, the replication offset right after that client's
 * last write, and WAIT blocks until that many replicas acknowledged that offset (Redis docs, WAIT: "all the
 * previous write commands sent in the context of the current connection"). So the WAIT must go on the very
 * connection that carried the write — on a cluster, the connection to the slot's master that ran the FCALL or EXEC.
 * Sent on another connection it would count that connection's writes, possibly none, and "acknowledge" nothing.
 * Because the shared client has one connection per node, a WAIT after a replayed (idempotent) write also covers
 * the original write when this process made it on the same connection.
 *
 * WAIT does not make Redis strongly consistent (see README "Redis Cluster"): it narrows what a failover can lose.
 */
export interface Durability {
  replicas: number;
  timeoutMs: number;
}

const registry = new WeakMap<object, Durability>();

/** Remembers the WAIT settings of a shared client (connectRedis does this). `undefined` = no WAIT. */
export function setDurability(client: Redis | Cluster, durability: Durability | undefined): void {
  if (durability) registry.set(client, durability);
  else registry.delete(client);
}

/** The WAIT settings a shared client was connected with, if any. */
export function durabilityOf(client: Redis | Cluster): Durability | undefined {
  return registry.get(client);
}

/**
 * WAIT on `connection` (the one that just wrote). Fewer acknowledgements than required → OUTCOME_UNKNOWN: the
 * write is applied on the master but a failover now could lose it; retrying with the same idempotency key is
 * safe (it replays, and waits again).
 */
export async function waitForReplicas(connection: Redis, durability: Durability): Promise<void> {
  let acked: number;
  try {
    acked = Number(await connection.call('WAIT', durability.replicas, durability.timeoutMs));
  } catch (err) {
    throw new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN,
      `The write was sent but its replication could not be confirmed (WAIT failed: ${(err as Error).message}); ` +
      'retry with the same Idempotency-Key to apply it exactly once', { waitReplicas: durability.replicas });
  }
  if (acked < durability.replicas) {
    throw new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN,
      `The write was applied on the master but acknowledged by ${acked} of ${durability.replicas} replica(s) within ` +
      `${durability.timeoutMs} ms, so a failover could still lose it; retry with the same Idempotency-Key`,
      { acknowledged: acked, waitReplicas: durability.replicas });
  }
}

/** The cluster client's own connection to the master that owns `slot` (per its slot table), if connected. */
export function slotMaster(cluster: Cluster, slot: number): Redis | undefined {
  const owner = cluster.slots[slot]?.[0];
  if (!owner) return undefined;
  return cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner);
}

/** Refreshes the cluster client's slot table (CLUSTER SLOTS); resolves either way (errors show in the next try). */
export function refreshSlots(cluster: Cluster): Promise<void> {
  return new Promise((resolve) => cluster.refreshSlotsCache(() => resolve()));
}

/** Replies by which a cluster node refused a command without running it: the slot moved, or the cluster is down. */
export const TOPOLOGY_ERROR = /^(MOVED|ASK|CLUSTERDOWN|TRYAGAIN)\b/;

export function isTopologyError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (TOPOLOGY_ERROR.test(err.message)) return true;
  // EXECABORT: a queued command was refused (e.g. MOVED) and nothing ran.
  const previous = (err as Error & { previousErrors?: unknown[] }).previousErrors;
  return err.message.startsWith('EXECABORT') && Array.isArray(previous) &&
    previous.some((e) => e instanceof Error && TOPOLOGY_ERROR.test(e.message));
}

/**
 * Runs `send` on the cluster's connection to the master owning `slot` (so a WAIT can follow on that same
 * connection). A node that refuses with MOVED/ASK/CLUSTERDOWN/TRYAGAIN ran nothing: the slot table is refreshed
 * and `send` retried (bounded), else STORE_UNAVAILABLE.
 */
export async function onSlotMaster<T>(cluster: Cluster, slot: number, send: (node: Redis) => Promise<T>):
  Promise<{ node: Redis; value: T }> {
  for (let attempt = 1; ; attempt++) {
    const node = slotMaster(cluster, slot);
    if (node && node.status !== 'end' && node.status !== 'close') { // lazily connected: 'wait' is fine
      try {
        return { node, value: await send(node) };
      } catch (err) {
        if (!isTopologyError(err)) throw err;
      }
    }
    if (attempt >= 16) {
      throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, `no reachable master owns slot ${slot}; nothing was written`);
    }
    await refreshSlots(cluster);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
