/**
 * A domain-neutral conditional store: "write these keys only if those conditions hold", atomically, inside one
 * namespace of its own (a caller can never reach another module's keys). Keys and hash fields are ids
 * (`^[A-Za-z0-9_-]{1,64}$`); a key holds a string or a hash of string fields.
 *
 * Failures are `AtomicError`s whose `code` is a KvErrorCode or a kernel code (VALIDATION_FAILED, CONFLICT,
 * STORE_UNAVAILABLE, OUTCOME_UNKNOWN, STORE_CORRUPTED). Every failure writes nothing.
 */
export const KV_STORE = Symbol('KV_STORE');

export interface ConditionalStore {
  /**
   * Evaluates every condition (in order) against the state before the transaction; if all hold, applies every
   * update in order, all in one atomic step. Conditions and updates are checked in full before the first write:
   * CONDITION_FAILED (the first failing condition's `index`), WRONG_TYPE, NOT_AN_INTEGER and INTEGER_OVERFLOW
   * (details: `in` 'condition' | 'update', `index`, `key`, `field`?) all leave the store unchanged.
   * 0–32 conditions, 1–32 updates.
   */
  transaction(tx: KvTransaction, options?: WriteOptions): Promise<KvReceipt>;
  /** The value of a key (and its remaining TTL, when it has one). KEY_NOT_FOUND */
  get(key: string): Promise<KvEntry>;
}

export type KvErrorCode = 'CONDITION_FAILED' | 'WRONG_TYPE' | 'NOT_AN_INTEGER' | 'INTEGER_OVERFLOW' | 'KEY_NOT_FOUND';

/** The same options as every write of this library (repeated here: a port imports nothing). */
export interface WriteOptions {
  /**
   * 1–255 printable ASCII. The first outcome under a key — result or business failure — is stored in the same
   * atomic step as the effect and replayed to every retry; the same key with another request fails with
   * IDEMPOTENCY_KEY_MISMATCH. Keys are per namespace.
   */
  idempotencyKey?: string;
}

export interface KvTransaction {
  conditions?: KvCondition[];
  updates: KvUpdate[];
}

/**
 * On a string key (no `field`) or on a hash field (`field`). A key of the other kind is WRONG_TYPE.
 * - eq / ne: string comparison with `value` (an integer is compared as its decimal text); an absent value is
 *   never equal (`eq` fails, `ne` holds);
 * - gt / gte / lt / lte: integer comparison with `value` (a safe integer or its canonical text); an absent value
 *   fails the condition, a present value that is not a safe integer is NOT_AN_INTEGER;
 * - exists / absent: take no `value`.
 */
export interface KvCondition {
  key: string;
  field?: string;
  op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'exists' | 'absent';
  value?: string | number;
}

/**
 * Applied in order, each seeing the previous ones' effects.
 * - set: makes the key a string (whatever it held before, as Redis' SET; clears its TTL);
 * - incrby: a string holding an integer (absent = 0) plus `by`; the result stays a safe integer;
 * - del: removes the key (any type; absent is fine);
 * - hset / hincrby / hdel: a field of a hash (absent key = empty hash; a hash left empty disappears);
 * - expire: the key expires `seconds` (1..315360000) from now; a no-op on an absent key. The TTL stays through
 *   incrby/hset/hincrby/hdel and is cleared by set and del, as in Redis.
 * Values: a string of at most 4096 bytes, or a safe integer (stored as its decimal text).
 */
export type KvUpdate =
  | { op: 'set'; key: string; value: string | number }
  | { op: 'incrby'; key: string; by: number }
  | { op: 'del'; key: string }
  | { op: 'hset'; key: string; field: string; value: string | number }
  | { op: 'hincrby'; key: string; field: string; by: number }
  | { op: 'hdel'; key: string; field: string }
  | { op: 'expire'; key: string; seconds: number };

export interface KvReceipt {
  applied: true;
  /** The number of updates applied (all of them). */
  updates: number;
}

export type KvEntry =
  | { key: string; type: 'string'; value: string; ttlSeconds?: number }
  | { key: string; type: 'hash'; value: Record<string, string>; ttlSeconds?: number };
