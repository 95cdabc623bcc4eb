import { createHash, randomUUID } from 'node:crypto';
import { AtomicError, decodeRedisError, validationFailed } from './errors';

/**
 * Exactly-once writes: a caller may attach an idempotency key to any write. The record (key → fingerprint of the
 * request + the outcome) is checked and written inside the same atomic step as the effect — the same FCALL, or
 * the same WATCH transaction with the record's key watched — so a retry after a lost reply, a timeout or a
 * reconnect replays the first outcome instead of applying the effect twice.
 */
export interface IdempotencyOptions {
  /** How long records are kept. Default 86400 (24 h). */
  ttlSeconds: number;
}

export const DEFAULT_IDEMPOTENCY: IdempotencyOptions = { ttlSeconds: 86_400 };

/** 1–255 printable ASCII characters (the IETF draft's and Stripe's convention). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

export function assertIdempotencyKey(value: unknown): asserts value is string | undefined {
  if (value !== undefined && (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value))) {
    throw validationFailed('Idempotency-Key must be 1 to 255 printable ASCII characters', { field: 'idempotencyKey' });
  }
}

/** What one keyed call carries to its adapter. */
export interface IdempotentCall {
  /** Names the record: hash of the scope and the key (any characters in, hex out — safe in a Redis key). */
  digest: string;
  /** Hash of the operation and its arguments: the same key with another request is refused. */
  fingerprint: string;
  ttlSeconds: number;
  /** Ids derived from the key, so a retry produces the same transfer ids as the first attempt. */
  id(index: number): string;
}

/** `scope` separates key spaces (the shard); `request` is the normalized operation and arguments. */
export function idempotentCall(scope: string, key: string | undefined, request: unknown, options: IdempotencyOptions):
  IdempotentCall | undefined {
  if (key === undefined) return undefined;
  const digest = sha256(`${scope}\0${key}`).slice(0, 40);
  return {
    digest,
    fingerprint: sha256(JSON.stringify(request)).slice(0, 32),
    ttlSeconds: options.ttlSeconds,
    id: (index) => uuidFrom(sha256(`${digest}\0${index}`)),
  };
}

/**
 * Records in Redis, as lua/*.lua write them and the transactions adapters too (so either strategy replays the
 * other's records):  <fingerprint>|o|<reply values joined by ','>   or   <fingerprint>|e|<CODE {json details}>
 */
export function encodeRecord(call: IdempotentCall, outcome: { values: readonly unknown[] } | { error: AtomicError }): string {
  if ('error' in outcome) {
    const { code, message, details } = outcome.error;
    return `${call.fingerprint}|e|${code} ${JSON.stringify({ message, ...details })}`;
  }
  return `${call.fingerprint}|o|${outcome.values.join(',')}`;
}

/** The replay of a stored record: the values to decode, or the (marked) error to throw. */
export function replayRecord(call: IdempotentCall, record: string): { values: string[] } | { error: AtomicError } {
  const match = /^([^|]*)\|([oe])\|(.*)$/s.exec(record);
  if (!match || match[1] !== call.fingerprint) return { error: idempotencyMismatch() };
  if (match[2] === 'o') return { values: match[3].split(',') };
  const decoded = decodeRedisError(new Error(match[3]));
  const error = decoded instanceof AtomicError ? decoded : new AtomicError('STORE_CORRUPTED', 'unreadable idempotency record');
  error.replayed = true;
  return { error };
}

/** A fresh id, or the key-derived one of a keyed call. */
export const operationId = (call: IdempotentCall | undefined, index = 0): string => (call ? call.id(index) : randomUUID());

/** Marks a port result (or error) as the replay of a stored outcome; HTTP answers with `Idempotent-Replayed: true`. */
export const REPLAYED = Symbol.for('redis-atomic.replayed');

export function markReplayed<T>(value: T): T {
  if (value !== null && typeof value === 'object') Object.defineProperty(value, REPLAYED, { value: true });
  return value;
}

export const isReplayed = (value: unknown): boolean =>
  value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[REPLAYED] === true;

export const idempotencyMismatch = () => new AtomicError('IDEMPOTENCY_KEY_MISMATCH',
  'this Idempotency-Key was used with a different request');

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

function uuidFrom(hex: string): string {
  const v = `${hex.slice(0, 12)}4${hex.slice(13, 16)}${((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 32)}`;
  return `${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20, 32)}`;
}
