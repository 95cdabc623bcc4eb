import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { AtomicError, KernelErrorCode } from '../core/errors';
import { Durability, setDurability } from './durability';

/** The shared client: one server (`Redis`) or a Redis Cluster (`Cluster`, which routes each command by its keys' slot). */
export type RedisClient = Redis | Cluster;

export interface RedisClusterConnection {
  /** Seed nodes, `host:port` (any subset of the cluster: the rest is discovered with CLUSTER SLOTS). */
  nodes: string[];
  /** Anything else ioredis' Cluster accepts (natMap, dnsLookup, slotsRefreshInterval…); applied last. */
  options?: ClusterOptions;
}

export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…` for TLS. Default `redis://127.0.0.1:6379`. */
  url?: string;
  username?: string;
  password?: string;
  /** `true` or Node TLS options (CA, client certificate…). `rediss://` URLs turn TLS on too. */
  tls?: boolean | ConnectionOptions;
  /** Client-side timeout per command; a timed-out write is reported OUTCOME_UNKNOWN. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Anything else ioredis accepts; applied last (to every node's connection in cluster mode). */
  redis?: RedisOptions;
  /**
   * Connect to a Redis Cluster instead of `url` (username, password, tls and commandTimeoutMs apply to every
   * node). Every operation's keys share one hash tag, so each runs on the one master owning its slot.
   */
  cluster?: RedisClusterConnection;
  /**
   * After each write (an FCALL of a writing function, an EXEC) send `WAIT waitReplicas waitTimeoutMs` on the
   * connection that wrote, and report OUTCOME_UNKNOWN when fewer replicas acknowledged it (the write did happen on
   * the master; a retry with the same Idempotency-Key is safe). Default 0: no WAIT. See README "Redis Cluster".
   */
  waitReplicas?: number;
  /** How long WAIT blocks for the replicas' acknowledgements. Default 1000 ms; must stay below commandTimeoutMs. */
  waitTimeoutMs?: number;
}

/** The WAIT settings of these options (undefined when waitReplicas is 0), checked. */
export function durabilityOptions(options: RedisConnectionOptions): Durability | undefined {
  const replicas = options.waitReplicas ?? 0;
  const timeoutMs = options.waitTimeoutMs ?? 1000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 5000;
  if (!Number.isSafeInteger(replicas) || replicas < 0) throw new Error('waitReplicas must be an integer >= 0');
  if (replicas === 0) return undefined;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || (commandTimeoutMs > 0 && timeoutMs >= commandTimeoutMs)) {
    // WAIT 0 would block forever; a client timeout before WAIT's own would report a timeout instead of the count.
    throw new Error(`waitTimeoutMs must be an integer in 1..${commandTimeoutMs - 1} (below commandTimeoutMs)`);
  }
  return { replicas, timeoutMs };
}

/**
 * Options of the shared client. They make every failure classifiable (errors.ts):
 * - no offline queue: a command issued while disconnected fails at once ("certainly not run", 503);
 * - `maxRetriesPerRequest: 0` + no auto-resend: a command in flight when the connection drops is rejected,
 *   never silently sent a second time after the reconnect ("outcome unknown");
 * - no auto-pipelining: measured slower for FCALL on this workload (see README);
 * - the connection itself reconnects with capped backoff.
 */
export function clientOptions(options: RedisConnectionOptions): RedisOptions {
  const url = new URL(options.url ?? 'redis://127.0.0.1:6379');
  const tls = options.tls === true || (options.tls === undefined && url.protocol === 'rediss:') ? {} : options.tls || undefined;
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    db: Number(url.pathname.slice(1) || 0),
    username: options.username ?? (decodeURIComponent(url.username) || undefined),
    password: options.password ?? (decodeURIComponent(url.password) || undefined),
    tls,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: 5000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...options.redis,
  };
}

/**
 * Options of the shared cluster client: the node connections get clientOptions' safety settings (no resend, no
 * per-request retries, the command timeout), and the Cluster's own retries are limited to replies that prove the
 * command did not run:
 * - `retryDelayOnFailover: 0` — ioredis would otherwise RESEND a command whose node connection closed with the
 *   command in flight ("Connection is closed."): an FCALL or EXEC that ran but lost its reply would run twice
 *   (pitfall 18, cluster form). With 0 it is rejected and reported OUTCOME_UNKNOWN;
 * - MOVED / ASK are followed (up to `maxRedirections` 16) and CLUSTERDOWN / TRYAGAIN retried after 100 ms: the
 *   node refused the command, nothing ran, so a resend is safe;
 * - `enableOfflineQueue: false` — while the cluster is (re)connecting commands fail at once (STORE_UNAVAILABLE);
 *   ioredis then also rejects commands for a node whose connection is still being opened, so connectRedis opens
 *   every node's connection as soon as the client learns of the node;
 * - reads go to masters (`scaleReads: 'master'`): a replica may lag, and WATCH must see the master's data;
 * - node connections are not reconnected by ioredis (`clusterNodeRetryStrategy` null, its default): a closed node
 *   is dropped and the slot table refreshed on the next MOVED / every `slotsRefreshInterval` (5 s).
 */
export function clusterOptions(options: RedisConnectionOptions): ClusterOptions {
  const { host: _host, port: _port, db: _db, lazyConnect: _lazy, enableOfflineQueue: _queue, retryStrategy: _retry, ...node } =
    clientOptions({ ...options, url: undefined });
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    enableReadyCheck: true,
    scaleReads: 'master',
    maxRedirections: 16,
    retryDelayOnMoved: 0,
    retryDelayOnFailover: 0,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2000,
    enableAutoPipelining: false,
    clusterRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
    redisOptions: node,
    ...options.cluster?.options,
  };
}

/** `host:port` → { host, port } (IPv6 as `[::1]:6379`). */
function parseNode(node: string): { host: string; port: number } {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(node.trim());
  if (!match) throw new Error(`cluster node "${node}" must be host:port`);
  return { host: match[1], port: Number(match[2]) };
}

/**
 * Connects, or fails with one clear STORE_UNAVAILABLE error naming the address(es): a `Cluster` when
 * `options.cluster` is set, else one `Redis`. The client remembers the WAIT settings (durability.ts).
 */
export async function connectRedis(options: RedisConnectionOptions & { cluster?: undefined }): Promise<Redis>;
export async function connectRedis(options: RedisConnectionOptions & { cluster: RedisClusterConnection }): Promise<Cluster>;
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisClient>;
export async function connectRedis(options: RedisConnectionOptions): Promise<RedisClient> {
  const durability = durabilityOptions(options);
  const client = options.cluster ? await connectCluster(options) : await connectStandalone(options);
  setDurability(client, durability);
  return client;
}

async function connectCluster(options: RedisConnectionOptions): Promise<Cluster> {
  const nodes = options.cluster!.nodes.map(parseNode);
  if (nodes.length === 0) throw new Error('cluster.nodes needs at least one host:port');
  const cluster = new Cluster(nodes, clusterOptions(options));
  let cause: Error | undefined;
  cluster.on('error', (err) => (cause = err));
  // Node connections are lazy; without the offline queue ioredis rejects a command that reaches a node still
  // connecting ("Connection is closed." — reported OUTCOME_UNKNOWN though it was never sent). Connect each node
  // as soon as the cluster client learns of it (replicas too: one may be promoted), so none is cold when used.
  cluster.on('+node', (node: Redis) => {
    if (node.status === 'wait') node.connect().catch(() => undefined);
  });
  try {
    await clusterReady(cluster, (options.cluster!.options?.slotsRefreshTimeout ?? 2000) + 2 * (options.redis?.connectTimeout ?? 5000));
    await Promise.all(cluster.nodes('master').map((node) => node.ping())); // each master's connection is up
    return cluster;
  } catch (err) {
    cluster.disconnect();
    throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE,
      `Cannot reach the Redis Cluster at ${options.cluster!.nodes.join(', ')}: ${(cause ?? (err as Error)).message}`);
  }
}

/**
 * Resolves on the cluster client's first 'ready'. Not `cluster.connect()` alone: when its ready check finds
 * `cluster_state:fail` (e.g. a failover in progress), ioredis 5 reconnects and later becomes ready, but the
 * promise of that first connect() never settles. Bounded, so a cluster that stays down is one clear error.
 */
function clusterReady(cluster: Cluster, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the cluster was not ready within ${timeoutMs} ms`)), timeoutMs);
    const ready = () => done();
    const done = (err?: Error) => {
      clearTimeout(timer);
      cluster.off('ready', ready);
      if (err) reject(err);
      else resolve();
    };
    cluster.once('ready', ready);
    cluster.connect().catch((err: Error) => done(err));
  });
}

async function connectStandalone(options: RedisConnectionOptions): Promise<Redis> {
  const redisOptions = clientOptions(options);
  const client = new Redis(redisOptions);
  let cause: Error | undefined;
  client.on('error', (err) => (cause = err)); // later errors surface as rejected commands and in health
  try {
    await client.connect();
    return client;
  } catch (err) {
    client.disconnect();
    const where = `${redisOptions.host}:${redisOptions.port}`;
    const reason = (cause ?? (err as Error)).message;
    if (/^(WRONGPASS|NOAUTH)\b/.test(reason)) {
      // Reachable, but the credentials are wrong or missing: starting Redis would not help.
      throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, `Redis at ${where} refused the credentials: ${reason}`, { reason: 'auth' });
    }
    throw new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, `Cannot reach Redis at ${where}: ${reason}`, { reason: 'unreachable' });
  }
}

/**
 * A connection for one WATCH transaction at a time. It never reconnects: Redis forgets a WATCH when the
 * connection drops, and ioredis would then run EXEC unconditionally (ioredis #1686). A dropped dedicated
 * connection simply ends, its pending commands fail, and the pool opens a fresh one.
 */
export function dedicatedConnection(shared: Redis): Redis {
  const connection = shared.duplicate(DEDICATED);
  connection.on('error', () => undefined);
  return connection;
}

const DEDICATED: RedisOptions = {
  lazyConnect: false,
  enableOfflineQueue: true, // only until the first connect: it never reconnects
  retryStrategy: () => null,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  enableAutoPipelining: false,
};

/**
 * A dedicated, never-reconnecting connection (as above) to one cluster node, `host:port` as in the cluster's
 * slot table, with the node options of the cluster client (credentials, TLS, timeouts). Not `readOnly`: it talks
 * to the master that owns the keys.
 */
export function dedicatedNodeConnection(cluster: Cluster, node: string): Redis {
  const { host, port } = parseNode(node);
  const connection = new Redis({ ...cluster.options.redisOptions, host, port, readOnly: false, ...DEDICATED });
  connection.on('error', () => undefined);
  return connection;
}
