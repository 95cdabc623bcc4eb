import { AtomicError, KernelErrorCode } from '@kernel/core';
import type { KvEntry, KvReceipt } from '../kv.port';
import { receipt } from '../kv-rules';

/** Decoding shared by both Redis adapters. */

/**
 * The reply values of kv_update_if_conditions_met (after the `replayed` flag): `{ updates applied }`. The
 * transactions adapter stores its idempotency records in the same layout, so both adapters replay each other's
 * records. Values arrive as integers (fresh) or strings (replayed): hence Number().
 */
export const toReceipt = ([updates]: unknown[]): KvReceipt => receipt(Number(updates));

/** A key's type, value (a string, or HGETALL's flat field/value list) and PTTL (-1: none) as an entry. */
export function toEntry(key: string, type: string, value: unknown, pttl: number): KvEntry {
  const ttl = pttl > 0 ? { ttlSeconds: Math.ceil(pttl / 1000) } : {};
  if (type === 'string') return { key, type, value: String(value), ...ttl };
  if (type === 'hash' && Array.isArray(value)) {
    const fields: Record<string, string> = {};
    for (let i = 0; i < value.length; i += 2) fields[String(value[i])] = String(value[i + 1]);
    return { key, type, value: fields, ...ttl };
  }
  throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, `${key} holds a ${type}`, { key });
}
