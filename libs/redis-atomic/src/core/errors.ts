/**
 * Typed errors. Every failure a port reports is an `AtomicError` with a machine-readable `code`; modules add
 * their business codes (INSUFFICIENT_FUNDS, OUT_OF_STOCK, …) and the HTTP layer maps codes to statuses.
 */
export class AtomicError extends Error {
  override readonly name = 'AtomicError';
  /** True when this failure is the replay of an outcome stored under an idempotency key. */
  replayed = false;

  constructor(
    readonly code: string,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

/** Codes the kernel itself raises. */
export const KernelErrorCode = {
  /** The input breaks a rule (bad id, non-integer amount, oversized batch…); nothing was sent to Redis. */
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  /** Optimistic retries exhausted: the watched keys kept changing. Safe to retry later. */
  CONFLICT: 'CONFLICT',
  /** Redis certainly did not apply the operation (unreachable, OOM, BUSY…). Safe to retry. */
  STORE_UNAVAILABLE: 'STORE_UNAVAILABLE',
  /** The operation may or may not have been applied (reply lost, timeout after sending). */
  OUTCOME_UNKNOWN: 'OUTCOME_UNKNOWN',
  /** A Lua function was called directly with malformed KEYS/ARGV (the ports never send those); nothing written. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A shard (ledger, shop, kv namespace) outside the module's `shards` list; nothing was sent to Redis. */
  SHARD_NOT_FOUND: 'SHARD_NOT_FOUND',
  /** Stored data is not in the shape our code writes; refused before any write. */
  STORE_CORRUPTED: 'STORE_CORRUPTED',
} as const;

export const isAtomicError = (err: unknown, code?: string): err is AtomicError =>
  err instanceof AtomicError && (code === undefined || err.code === code);

export const validationFailed = (message: string, details?: Record<string, unknown>): AtomicError =>
  new AtomicError(KernelErrorCode.VALIDATION_FAILED, message, details);

/** `CODE {json}` as produced by our Lua (`redis.error_reply`), possibly followed by Redis' script location. */
const LUA_ERROR = /^([A-Z][A-Z_]+) (\{.*\})/s;

/**
 * The one decoder from Redis errors to typed errors: our Lua business codes become `AtomicError`s with
 * their details; errors that prove nothing ran become STORE_UNAVAILABLE; a lost connection or a timeout
 * after the command was sent becomes OUTCOME_UNKNOWN. Anything else (a bug) is returned unchanged.
 */
export function decodeRedisError(err: unknown): unknown {
  if (!(err instanceof Error) || err instanceof AtomicError) return err;
  const lua = LUA_ERROR.exec(err.message);
  if (lua) {
    try {
      const { message, replayed, ...details } = JSON.parse(lua[2]) as { message?: string; replayed?: number } & Record<string, unknown>;
      const error = new AtomicError(lua[1], message ?? lua[1], details);
      error.replayed = replayed === 1;
      return error;
    } catch {
      /* not ours: fall through */
    }
  }
  if (err.message.startsWith('WRONGTYPE') || err.message.startsWith('ERR hash value is not an integer')) {
    return new AtomicError(KernelErrorCode.STORE_CORRUPTED, `a key holds another type than ours: ${err.message}`);
  }
  // Raised by redis.call inside a running function (Redis appends " script: …"): earlier writes may have applied.
  if (NOT_RUN.test(err.message) && / script: /.test(err.message)) {
    return new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN,
      `The operation failed part-way on the server (${err.message}); retry with the same Idempotency-Key to apply it exactly once`);
  }
  if (NOT_RUN.test(err.message) || CONNECT_FAILED.has(String((err as NodeJS.ErrnoException).code))) {
    return new AtomicError(KernelErrorCode.STORE_UNAVAILABLE, `Redis did not run the operation: ${err.message}`);
  }
  // AbortError (and its subclass MaxRetriesPerRequestError): ioredis dropped a command in flight.
  if (MAYBE_RUN.test(err.message) || err.name === 'AbortError' || err.name === 'MaxRetriesPerRequestError') {
    return new AtomicError(KernelErrorCode.OUTCOME_UNKNOWN,
      `The operation may or may not have been applied (${err.message}); retry with the same Idempotency-Key to apply it exactly once`);
  }
  return err;
}

/**
 * Replies and client errors that prove the command was not executed: the server refused it before running
 * it, or the client never wrote it (no offline queue while disconnected — see connection.ts). On a cluster:
 * MOVED/ASK/CROSSSLOT refusals, and ioredis giving up after following only refusals ("Too many Cluster
 * redirections" — it resends only after MOVED/ASK/TRYAGAIN/CLUSTERDOWN: see clusterOptions).
 */
const NOT_RUN =
  /^(OOM|BUSY|LOADING|EXECABORT|MASTERDOWN|READONLY|NOSCRIPT|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|CROSSSLOT|NOAUTH|NOPERM|WRONGPASS)\b|^ERR Function not found|Stream isn't writeable|^Too many Cluster redirections\. Last error: (\w*Error: )?(MOVED|ASK|CLUSTERDOWN|TRYAGAIN|ERR Function not found)\b|^Cluster isn't ready|^None of startup nodes is available/;
/**
 * Failures after the command may have reached the server: the connection dropped with the reply pending
 * (ioredis rejects those with MaxRetriesPerRequestError or "Connection is closed."), or the client timed out.
 */
const MAYBE_RUN = /Command timed out|Connection is closed|Command aborted due to connection close|ECONNRESET|EPIPE/;
const CONNECT_FAILED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
