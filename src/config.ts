import { ATOMIC_STRATEGIES, AtomicStrategy } from '@kernel/core';

/** Everything the service reads from the environment, checked once at start. */
export interface AppConfig {
  port: number;
  strategy: AtomicStrategy;
  /** `tls` undefined: decided by the URL scheme (`rediss://` = TLS). */
  redis: { url: string; username?: string; password?: string; tls?: boolean };
  ledger: string;
  /** The shop of Inventory and Orders: one hash tag for both (orders take stock atomically). */
  shop: string;
  /** The conditional store's namespace (KV_NAMESPACE): the hash tag of its keys. */
  kvNamespace: string;
  maxBatch: number;
  historyLimit: number;
  idempotencyTtlSeconds: number;
  /** EVENTS_MAXLEN: the cap of each shard's event log (XADD MAXLEN ~, approximate). */
  eventsMaxLen: number;
  /** SWEEP_INTERVAL_MS: how often expired pending transfers are released (0 = off). */
  sweepIntervalMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const strategy = (env.ATOMIC_STRATEGY ?? 'functions') as AtomicStrategy;
  if (!ATOMIC_STRATEGIES.includes(strategy)) {
    throw new Error(`ATOMIC_STRATEGY must be one of ${ATOMIC_STRATEGIES.join(', ')} (got "${strategy}")`);
  }
  return {
    port: integer(env, 'PORT', 3000),
    strategy,
    redis: {
      url: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      username: env.REDIS_USERNAME || undefined,
      password: env.REDIS_PASSWORD || undefined,
      tls: env.REDIS_TLS === undefined || env.REDIS_TLS === '' ? undefined : env.REDIS_TLS === 'true',
    },
    ledger: env.LEDGER ?? 'main',
    shop: env.SHOP ?? 'main',
    kvNamespace: env.KV_NAMESPACE ?? 'kv',
    maxBatch: integer(env, 'MAX_BATCH', 1000),
    historyLimit: integer(env, 'HISTORY_LIMIT', 1000),
    idempotencyTtlSeconds: integer(env, 'IDEMPOTENCY_TTL_SECONDS', 86_400),
    eventsMaxLen: integer(env, 'EVENTS_MAXLEN', 100_000),
    sweepIntervalMs: env.SWEEP_INTERVAL_MS === '0' ? 0 : integer(env, 'SWEEP_INTERVAL_MS', 1000),
  };
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new Error(`${name} must be a positive integer (got "${raw}")`);
  return Number(raw);
}
