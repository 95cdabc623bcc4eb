import 'reflect-metadata';
import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, registerDecorator, validateSync, ValidationError,
} from 'class-validator';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ATOMIC_STRATEGIES, AtomicStrategy, ID_PATTERN } from '@kernel/core';
import type { RateLimitConfig } from './deploy-env';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Everything the service reads from the environment, checked once at start. */
export interface AppConfig {
  port: number;
  strategy: AtomicStrategy;
  /** `tls` undefined: decided by the URL scheme (`rediss://` = TLS). */
  redis: {
    url: string; username?: string; password?: string; tls?: boolean | ConnectionOptions; commandTimeoutMs: number; loadFunctions?: boolean;
    /** REDIS_CLUSTER_NODES: seed nodes; set = cluster mode (REDIS_URL is then not used). */
    cluster?: { nodes: string[] };
    /** REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS: replicas that must acknowledge each write (else OUTCOME_UNKNOWN). */
    waitReplicas: number;
    waitTimeoutMs: number;
  };
  ledger: string;
  /** The shop of Inventory and Orders: one hash tag for both (orders take stock atomically). */
  shop: string;
  /** The conditional store's namespace (KV_NAMESPACE): the hash tag of its keys. */
  kvNamespace: string;
  /**
   * LEDGERS / SHOPS / KV_NAMESPACES: the only other shards served (/ledgers/:ledger/…, /shops/:shop/…,
   * /namespaces/:namespace/…; others answer 404 SHARD_NOT_FOUND); unset = any name matching the id pattern.
   */
  shards: { ledgers?: string[]; shops?: string[]; kvNamespaces?: string[] };
  maxBatch: number;
  historyLimit: number;
  idempotencyTtlSeconds: number;
  /** EVENTS_MAXLEN: the cap of each shard's event log (XADD MAXLEN ~, approximate). */
  eventsMaxLen: number;
  /** DOCS_ENABLED: Swagger UI at /docs and the OpenAPI document at /docs-json; unset = on when @nestjs/swagger is installed. */
  docs: boolean | 'auto';
  /** RESERVATION_SWEEP_MS: how often this instance expires lapsed stock reservations (every instance may); 0 = never. */
  reservationSweepMs: number;
  /** LOG_LEVEL / LOG_FORMAT (json by default, pretty when NODE_ENV=development). */
  log: { level: LogLevel; format: LogFormat };
  /** METRICS: serve GET /metrics (Prometheus) and count every port operation. */
  metrics: boolean;
  /** SHUTDOWN_GRACE_MS: how long in-flight requests may take to finish after SIGTERM/SIGINT. */
  shutdownGraceMs: number;
  /** WORKERS: Node processes sharing the port (node:cluster); `auto` = the cores available. */
  workers: number | 'auto';
  /** RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_SECONDS: a per-client request budget; off when undefined. */
  rateLimit?: RateLimitConfig;
  /** PENDING_SWEEP_MS: how often this instance releases expired pending transfers (every instance may); 0 = never. */
  pendingSweepMs: number;
  /** LEDGER_SPREAD: every ledger spread over this many shards (cross-shard transfers: README); undefined = one shard each. */
  ledgerSpread?: number;
  /** ESCROW_TIMEOUT_MS / ESCROW_GRACE_MS: a cross-shard transaction's deadline, and the sweeper's grace after it. */
  escrowTimeoutMs?: number;
  escrowGraceMs?: number;
  /** BOARD_ENABLED / BOARD_TOKEN: the operator board at /board (unset: on when a token is set); actions need the token. */
  board: { enabled: boolean; token?: string };
}

/** A bad environment variable: `variable` names it, `message` is one line saying what is expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly variable: string, message: string) {
    super(message);
  }
}

/** An empty variable is an unset one (`PORT= npm start` means the default). */
const unsetIfEmpty = () => Transform(({ value }) => (value === '' ? undefined : value));
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => (target: object, property: string) => {
  const message = max === Number.MAX_SAFE_INTEGER ? `must be a whole number >= ${min}` : `must be a whole number from ${min} to ${max}`;
  unsetIfEmpty()(target, property);
  // Digits only: "1.5", "-3", "1e3", "0x10", " 8" are refused, not coerced (Number() would accept most of them).
  Transform(({ value }) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value))(target, property);
  IsOptional()(target, property);
  IsInt({ message })(target, property);
  Min(min, { message })(target, property);
  Max(max, { message })(target, property);
};
const oneOf = (values: readonly string[]) => (target: object, property: string) => {
  unsetIfEmpty()(target, property);
  IsOptional()(target, property);
  IsIn(values, { message: `must be one of ${values.join(', ')}` })(target, property);
};
const hashTag = () => (target: object, property: string) => {
  unsetIfEmpty()(target, property);
  IsOptional()(target, property);
  Matches(ID_PATTERN, { message: `must match ${ID_PATTERN.source}` })(target, property);
};

/** A comma-separated list of shard names (`eu,us,apac`), each matching the id pattern. */
const shardList = () => (target: object, property: string) => {
  unsetIfEmpty()(target, property);
  IsOptional()(target, property);
  Matches(new RegExp(`^${ID_PATTERN.source.slice(1, -1)}(,${ID_PATTERN.source.slice(1, -1)})*$`), {
    message: `must be a comma-separated list of names matching ${ID_PATTERN.source}`,
  })(target, property);
};

/** `redis://` or `rediss://` with a host: anything else (http://, a bare host, garbage) is refused. */
function IsRedisUrl() {
  return (target: object, property: string) => registerDecorator({
    target: target.constructor,
    propertyName: property,
    options: { message: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' },
    validator: {
      validate(value: unknown) {
        if (value === undefined) return true;
        if (typeof value !== 'string') return false;
        try {
          const url = new URL(value);
          const port = url.port === '' ? 6379 : Number(url.port);
          return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '' &&
            port >= 1 && port <= 65535 && /^\/?(\d+)?$/.test(url.pathname);
        } catch {
          return false;
        }
      },
    },
  });
}

/**
 * The one schema of the service's environment (class-validator over an env class). Every variable is in the
 * README's configuration table with its default.
 */
class Environment {
  @integer(1, 65535) PORT?: number;
  @oneOf(ATOMIC_STRATEGIES) ATOMIC_STRATEGY?: AtomicStrategy;
  @unsetIfEmpty() @IsRedisUrl() REDIS_URL?: string;
  @unsetIfEmpty() @IsOptional() @IsString() REDIS_USERNAME?: string;
  @unsetIfEmpty() @IsOptional() @IsString() REDIS_PASSWORD?: string;
  @unsetIfEmpty()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsOptional() @IsBoolean({ message: 'must be true or false' })
  REDIS_TLS?: boolean;
  @integer(1, 600_000) REDIS_COMMAND_TIMEOUT_MS?: number;
  @hashTag() LEDGER?: string;
  @hashTag() SHOP?: string;
  @hashTag() KV_NAMESPACE?: string;
  @shardList() LEDGERS?: string;
  @shardList() SHOPS?: string;
  @shardList() KV_NAMESPACES?: string;
  @integer(1, 2000) MAX_BATCH?: number;
  @integer(1) HISTORY_LIMIT?: number;
  @integer(1) IDEMPOTENCY_TTL_SECONDS?: number;
  @integer(1) EVENTS_MAXLEN?: number;
  @oneOf(LOG_LEVELS) LOG_LEVEL?: LogLevel;
  @oneOf(LOG_FORMATS) LOG_FORMAT?: LogFormat;
  @unsetIfEmpty()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsOptional() @IsBoolean({ message: 'must be true or false' })
  METRICS?: boolean;
  @integer(0, 600_000) SHUTDOWN_GRACE_MS?: number;
  @unsetIfEmpty()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsOptional() @IsBoolean({ message: 'must be true or false' })
  DOCS_ENABLED?: boolean;
  @integer(0, 86_400_000) RESERVATION_SWEEP_MS?: number;
  @integer(0, 86_400_000) PENDING_SWEEP_MS?: number;
  @integer(1, 64) LEDGER_SPREAD?: number;
  @integer(1, 86_400_000) ESCROW_TIMEOUT_MS?: number;
  @integer(0, 86_400_000) ESCROW_GRACE_MS?: number;
  @unsetIfEmpty() @IsOptional() @Matches(/^(auto|[1-9]\d{0,2})$/, { message: 'must be a whole number from 1 to 999, or auto' })
  WORKERS?: string;
  @unsetIfEmpty()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsOptional() @IsBoolean({ message: 'must be true or false' })
  REDIS_LOAD_FUNCTIONS?: boolean;
  @unsetIfEmpty() @IsOptional() @IsString() REDIS_TLS_CA_FILE?: string;
  @integer(0) RATE_LIMIT_MAX?: number;
  @integer(1, 86_400) RATE_LIMIT_WINDOW_SECONDS?: number;
  @unsetIfEmpty() @IsOptional()
  @Matches(/^[^,:\s]+:\d{1,5}(,[^,:\s]+:\d{1,5})*$/, { message: 'must be host:port[,host:port…], e.g. 10.0.0.1:7000,10.0.0.2:7000' })
  REDIS_CLUSTER_NODES?: string;
  @unsetIfEmpty()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsOptional() @IsBoolean({ message: 'must be true or false' })
  BOARD_ENABLED?: boolean;
  @unsetIfEmpty() @IsOptional() @Matches(/^[\x21-\x7e]{16,256}$/, { message: 'must be 16 to 256 printable ASCII characters without spaces' })
  BOARD_TOKEN?: string;
  @integer(0, 16) REDIS_WAIT_REPLICAS?: number;
  @integer(1, 600_000) REDIS_WAIT_TIMEOUT_MS?: number;
}

/** Reads and checks the environment; the first bad variable throws a ConfigError naming it. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const raw: Record<string, unknown> = {};
  for (const name of ENV_NAMES) raw[name] = env[name];
  const parsed = plainToInstance(Environment, raw);
  const errors = validateSync(parsed, { forbidUnknownValues: false });
  if (errors.length) throw configError(errors[0], env);
  return {
    port: parsed.PORT ?? 3000,
    strategy: parsed.ATOMIC_STRATEGY ?? 'functions',
    redis: {
      url: parsed.REDIS_URL ?? 'redis://127.0.0.1:6379',
      username: parsed.REDIS_USERNAME,
      password: parsed.REDIS_PASSWORD,
      tls: tlsOptions(parsed),
      commandTimeoutMs: parsed.REDIS_COMMAND_TIMEOUT_MS ?? 5000,
      loadFunctions: parsed.REDIS_LOAD_FUNCTIONS,
      ...(parsed.REDIS_CLUSTER_NODES && { cluster: { nodes: parsed.REDIS_CLUSTER_NODES.split(',') } }),
      waitReplicas: parsed.REDIS_WAIT_REPLICAS ?? 0,
      waitTimeoutMs: parsed.REDIS_WAIT_TIMEOUT_MS ?? 1000,
    },
    ledger: parsed.LEDGER ?? 'main',
    shop: parsed.SHOP ?? 'main',
    kvNamespace: parsed.KV_NAMESPACE ?? 'kv',
    shards: {
      ...(parsed.LEDGERS && { ledgers: parsed.LEDGERS.split(',') }),
      ...(parsed.SHOPS && { shops: parsed.SHOPS.split(',') }),
      ...(parsed.KV_NAMESPACES && { kvNamespaces: parsed.KV_NAMESPACES.split(',') }),
    },
    maxBatch: parsed.MAX_BATCH ?? 1000,
    historyLimit: parsed.HISTORY_LIMIT ?? 1000,
    idempotencyTtlSeconds: parsed.IDEMPOTENCY_TTL_SECONDS ?? 86_400,
    eventsMaxLen: parsed.EVENTS_MAXLEN ?? 100_000,
    log: {
      level: parsed.LOG_LEVEL ?? 'info',
      format: parsed.LOG_FORMAT ?? (env.NODE_ENV === 'development' ? 'pretty' : 'json'),
    },
    metrics: parsed.METRICS ?? true,
    shutdownGraceMs: parsed.SHUTDOWN_GRACE_MS ?? 10_000,
    docs: parsed.DOCS_ENABLED ?? 'auto',
    reservationSweepMs: parsed.RESERVATION_SWEEP_MS ?? 1000,
    pendingSweepMs: parsed.PENDING_SWEEP_MS ?? 1000,
    ledgerSpread: parsed.LEDGER_SPREAD,
    escrowTimeoutMs: parsed.ESCROW_TIMEOUT_MS,
    escrowGraceMs: parsed.ESCROW_GRACE_MS,
    workers: parsed.WORKERS === undefined ? 1 : parsed.WORKERS === 'auto' ? 'auto' : Number(parsed.WORKERS),
    board: { enabled: parsed.BOARD_ENABLED ?? parsed.BOARD_TOKEN !== undefined, ...(parsed.BOARD_TOKEN && { token: parsed.BOARD_TOKEN }) },
    rateLimit: parsed.RATE_LIMIT_MAX ? { limit: parsed.RATE_LIMIT_MAX, windowSeconds: parsed.RATE_LIMIT_WINDOW_SECONDS ?? 60 } : undefined,
  };
}

/** REDIS_TLS_CA_FILE: TLS with that CA (its file read once, here); else REDIS_TLS (unset: the URL's scheme decides). */
function tlsOptions(parsed: Environment): boolean | ConnectionOptions | undefined {
  const file = parsed.REDIS_TLS_CA_FILE;
  if (file === undefined) return parsed.REDIS_TLS;
  if (parsed.REDIS_TLS === false) throw new ConfigError('REDIS_TLS_CA_FILE', 'REDIS_TLS_CA_FILE is set but REDIS_TLS=false: remove one of them');
  try {
    return { ca: readFileSync(file) };
  } catch (err) {
    throw new ConfigError('REDIS_TLS_CA_FILE', `REDIS_TLS_CA_FILE cannot be read: ${(err as Error).message}`);
  }
}

/** The variables of the schema (class fields without initializers are not own keys of an instance). */
const ENV_NAMES = [
  'PORT', 'ATOMIC_STRATEGY', 'REDIS_URL', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS', 'REDIS_COMMAND_TIMEOUT_MS', 'LEDGER', 'SHOP', 'KV_NAMESPACE',
  'MAX_BATCH', 'HISTORY_LIMIT', 'IDEMPOTENCY_TTL_SECONDS', 'EVENTS_MAXLEN', 'LOG_LEVEL', 'LOG_FORMAT', 'METRICS',
  'SHUTDOWN_GRACE_MS', 'DOCS_ENABLED', 'RESERVATION_SWEEP_MS', 'WORKERS', 'REDIS_LOAD_FUNCTIONS', 'REDIS_TLS_CA_FILE', 'RATE_LIMIT_MAX',
  'RATE_LIMIT_WINDOW_SECONDS', 'REDIS_CLUSTER_NODES', 'REDIS_WAIT_REPLICAS', 'REDIS_WAIT_TIMEOUT_MS', 'PENDING_SWEEP_MS',
  'BOARD_ENABLED', 'BOARD_TOKEN',
  'LEDGERS', 'SHOPS', 'KV_NAMESPACES', 'LEDGER_SPREAD', 'ESCROW_TIMEOUT_MS', 'ESCROW_GRACE_MS',
] as const;

function configError(error: ValidationError, env: NodeJS.ProcessEnv): ConfigError {
  const variable = error.property;
  const expected = Object.values(error.constraints ?? {})[0] ?? 'is invalid';
  // Never echo a secret: the URL's password is masked, REDIS_PASSWORD is not shown at all.
  const got = variable === 'REDIS_PASSWORD' || variable === 'BOARD_TOKEN' ? '' : ` (got "${redactUrl(String(env[variable]))}")`;
  return new ConfigError(variable, `${variable} ${expected}${got}`);
}

/** `redis://user:secret@host` → `redis://user:***@host`; anything that is not a URL is returned as is. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}
