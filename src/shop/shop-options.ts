import { DEFAULT_EVENTS_MAXLEN, IdempotencyOptions } from '@kernel/core';

/** The records' TTL option of a shop module (Inventory's and Orders'): an integer, since it becomes `SET … EX`. */
export function shopIdempotency(moduleName: string, ttlSeconds = 86_400): IdempotencyOptions {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`${moduleName} idempotencyTtlSeconds must be an integer >= 1 (got ${String(ttlSeconds)})`);
  }
  return { ttlSeconds };
}

/** The event log cap of a shop module (Inventory's and Orders'): an integer >= 1, since it becomes `MAXLEN ~`. */
export function shopEventsMaxLen(moduleName: string, maxLen = DEFAULT_EVENTS_MAXLEN): number {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new Error(`${moduleName} eventsMaxLen must be an integer >= 1 (got ${String(maxLen)})`);
  }
  return maxLen;
}
