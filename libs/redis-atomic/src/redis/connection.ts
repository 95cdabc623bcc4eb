import Redis, { RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { AtomicError, KernelErrorCode } from '../core/errors';

export interface RedisConnectionOptions {
  /** `redis://[user:pass@]host:port[/db]` or `rediss://…` for TLS. Default `redis://127.0.0.1:6379`. */
  url?: string;
  username?: string;
  password?: string;
  /** `true` or Node TLS options (CA, client certificate…). `rediss://` URLs turn TLS on too. */
  tls?: boolean | ConnectionOptions;
  /** Client-side timeout per command; a timed-out write is reported OUTCOME_UNKNOWN. Default 5000 ms. */
  commandTimeoutMs?: number;
  /** Anything else ioredis accepts; applied last. */
  redis?: RedisOptions;
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

/** Connects, or fails with one clear STORE_UNAVAILABLE error naming the address. */
export async function connectRedis(options: RedisConnectionOptions): Promise<Redis> {
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
  const connection = shared.duplicate({
    lazyConnect: false,
    enableOfflineQueue: true, // only until the first connect: it never reconnects
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableAutoPipelining: false,
  });
  connection.on('error', () => undefined);
  return connection;
}
