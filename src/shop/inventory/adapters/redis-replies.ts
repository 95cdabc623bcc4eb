import { AtomicError, KernelErrorCode } from '@kernel/core';
import type { ReservationStatus, StockLevel } from '../inventory.port';
import type { ReservationRecord } from '../inventory-rules';

/** Decoding shared by both Redis adapters (and by Orders' ones, which read the same sorted set). */

/**
 * The reply values of lua/inventory.lua's write functions (after the `replayed` flag): set_stock and restock
 * answer `{ stock }`. The transactions adapter stores its idempotency records in the same layout, so both
 * adapters replay each other's records. Values arrive as integers (fresh) or strings (replayed): hence Number().
 */
export const toLevel = (productId: string, [stock]: unknown[]): StockLevel => ({ productId, stock: Number(stock) });

/** A score as Redis writes an integral double: '0' or -?[1-9]\d* (Number() alone accepts '1e3', ' 5', '0x10'). */
const INTEGER = /^(0|-?[1-9]\d{0,15})$/;

/** A stored stock (a ZSCORE reply) as a number; null stays null (no such product). Anything else is refused. */
export function decodeStock(key: string, productId: string, score: string | null): number | null {
  if (score === null) return null;
  const stock = Number(score);
  if (!INTEGER.test(score) || !Number.isSafeInteger(stock) || stock < 0) {
    throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, `stock of ${productId} is ${score}, not an integer in [0, 2^53)`, { key });
  }
  return stock;
}

/** ZRANGEBYSCORE … WITHSCORES (flat: member, score, …) as stock levels. */
export function decodeLevels(key: string, rows: unknown[]): StockLevel[] {
  const levels: StockLevel[] = [];
  for (let i = 0; i < rows.length; i += 2) {
    const productId = String(rows[i]);
    levels.push({ productId, stock: decodeStock(key, productId, String(rows[i + 1]))! });
  }
  return levels;
}

/** The reservation hash's fields, in the order HMGET and the Lua replies use (lua/include/stock.lua). */
export const RESERVATION_FIELDS = ['product', 'quantity', 'status', 'created', 'expires', 'order'] as const;
const STATUSES = ['held', 'released', 'consumed', 'expired'];

/**
 * A reservation's six values — an HMGET of RESERVATION_FIELDS, or a Lua reply (reservation_reply) — as a record;
 * null when it does not exist (HMGET's nil product). Integers arrive as numbers (fresh) or strings (stored,
 * replayed); anything not in the shape our adapters write is refused.
 */
export function decodeReservation(key: string, values: readonly unknown[]): ReservationRecord | null {
  const [product, quantity, status, created, expires, order] = values;
  if (product === null || product === undefined) return null;
  const q = integer(quantity);
  const c = integer(created);
  const e = integer(expires);
  if (typeof product !== 'string' || q === null || q < 1 || !STATUSES.includes(String(status)) || c === null || e === null ||
    typeof order !== 'string' || order === '') {
    throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, 'reservation is not in the shape our adapters write', { key });
  }
  return { productId: product, quantity: q, status: status as ReservationStatus, created: c, expires: e, orderId: order === '-' ? null : order };
}

/** A record as the reply values of lua/inventory.lua's reservation functions (the transactions adapter records the same). */
export const reservationValues = (r: ReservationRecord, status: ReservationStatus = r.status): (string | number)[] =>
  [r.productId, r.quantity, status, r.created, r.expires, r.orderId ?? '-'];

const integer = (value: unknown): number | null =>
  typeof value === 'number' ? (Number.isSafeInteger(value) ? value : null)
    : typeof value === 'string' && INTEGER.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;
