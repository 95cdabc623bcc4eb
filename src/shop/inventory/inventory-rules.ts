import { assertId, assertIdempotencyKey, AtomicError, IdempotentCall, operationId, validationFailed } from '@kernel/core';
import type { InventoryErrorCode, Reservation, ReservationStatus, WriteOptions } from './inventory.port';

/**
 * The Inventory's rules in plain TypeScript: input validation (shared by every adapter, so bad input never
 * reaches Redis) and the restock decision used by the memory and transactions adapters. lua/inventory.lua
 * implements the same rules server-side; the contract suite keeps them identical.
 *
 * Stock lives in a sorted set whose scores are doubles: integers are exact below 2^53, so stock is bounded
 * by Number.MAX_SAFE_INTEGER and every increase is checked against it before anything is written.
 */

export const MAX_STOCK = Number.MAX_SAFE_INTEGER;
export const MAX_LOW_STOCK_PAGE = 1000;
export const DEFAULT_LOW_STOCK_PAGE = 100;

export const inventoryError = (code: InventoryErrorCode, message: string, details: Record<string, unknown> = {}) =>
  new AtomicError(code, message, details);

export function assertCount(value: unknown, field: string, min: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw validationFailed(`${field} must be an integer from ${min} to ${MAX_STOCK}`, { field });
  }
}

/**
 * The normalized request an idempotency fingerprint is taken of — the same in every adapter, so a record means
 * the same thing whichever strategy wrote it. Names differ from Orders' (the shop's key space is shared).
 */
export const requestOf = {
  setStock: (productId: string, stock: number) => ['setStock', productId, stock],
  restock: (productId: string, quantity: number) => ['restock', productId, quantity],
  reserve: (productId: string, quantity: number, ttlSeconds: number) => ['reserve', productId, quantity, ttlSeconds],
  release: (productId: string, reservationId: string) => ['release', productId, reservationId],
};

/** The write options as adapters get them: a checked key, nothing else carried over (Orders' gate uses it too). */
export function checkWriteOptions(options: WriteOptions | undefined): WriteOptions {
  assertIdempotencyKey(options?.idempotencyKey);
  return { idempotencyKey: options?.idempotencyKey };
}

export function checkSetStock(productId: string, stock: number): void {
  assertId(productId, 'productId');
  assertCount(stock, 'stock', 0);
}

export function checkRestock(productId: string, quantity: number): void {
  assertId(productId, 'productId');
  assertCount(quantity, 'quantity', 1);
}

export function checkLowStock(below: number, limit: number = DEFAULT_LOW_STOCK_PAGE): { below: number; limit: number } {
  assertCount(below, 'below', 0);
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_LOW_STOCK_PAGE) {
    throw validationFailed(`limit must be an integer from 1 to ${MAX_LOW_STOCK_PAGE}`, { field: 'limit' });
  }
  return { below, limit };
}

/** The stock after adding `quantity` (null = unknown product), or the failure; matches lua/inventory.lua. */
export function planRestock(productId: string, stock: number | null, quantity: number): number {
  if (stock === null) throw productNotFound(productId);
  return raiseStock(productId, stock, quantity);
}

/** `stock + quantity`, refused past MAX_STOCK (restock, and cancelled orders giving their units back). */
export function raiseStock(productId: string, stock: number, quantity: number): number {
  if (stock + quantity > MAX_STOCK) {
    throw inventoryError('STOCK_LIMIT_EXCEEDED', 'stock would exceed the largest safe integer', { productId, stock, quantity });
  }
  return stock + quantity;
}

export const productNotFound = (productId: string, details: Record<string, unknown> = {}) =>
  inventoryError('PRODUCT_NOT_FOUND', 'product not found', { ...details, productId });

/** Products under `below`, lowest first then by id, as ZRANGEBYSCORE orders them (ids are ASCII: byte order). */
export function lowest<T extends { productId: string; stock: number }>(levels: Iterable<T>, below: number, limit: number): T[] {
  return [...levels]
    .filter((level) => level.stock < below)
    .sort((a, b) => a.stock - b.stock || (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0))
    .slice(0, limit);
}

// ───────────────────────────── stock reservations ─────────────────────────────

/** A reservation is held for 1 s to 7 days (lua/inventory.lua MAX_TTL_SECONDS). */
export const MAX_RESERVATION_TTL_SECONDS = 604_800;
/** Reservations one sweep step looks at (lua/inventory.lua MAX_SWEEP), and the default. */
export const MAX_SWEEP = 1000;
export const DEFAULT_SWEEP = 100;

export function checkReserve(productId: string, quantity: number, ttlSeconds: number): void {
  assertId(productId, 'productId');
  assertCount(quantity, 'quantity', 1);
  if (typeof ttlSeconds !== 'number' || !Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_RESERVATION_TTL_SECONDS) {
    throw validationFailed(`ttlSeconds must be an integer from 1 to ${MAX_RESERVATION_TTL_SECONDS}`, { field: 'ttlSeconds' });
  }
}

export function checkSweepLimit(limit: number = DEFAULT_SWEEP): number {
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_SWEEP) {
    throw validationFailed(`limit must be an integer from 1 to ${MAX_SWEEP}`, { field: 'limit' });
  }
  return limit;
}

/** The id of a new reservation: derived from the idempotency key when there is one (a retry names the same one), else random. */
export const newReservationId = (call: IdempotentCall | undefined): string => operationId(call).replace(/-/g, '');

/** A reservation as every adapter stores it (the Redis hash's fields; times in ms of the server clock). */
export interface ReservationRecord {
  productId: string;
  quantity: number;
  status: ReservationStatus;
  created: number;
  expires: number;
  /** The consuming order, or null. */
  orderId: string | null;
}

/** The status callers see: a held reservation whose expiry has passed is expired (until the sweeper makes it so). */
export const seenStatus = (r: ReservationRecord, now: number): ReservationStatus =>
  r.status === 'held' && now >= r.expires ? 'expired' : r.status;

export const reservationNotFound = (reservationId: string, details: Record<string, unknown> = {}) =>
  inventoryError('RESERVATION_NOT_FOUND', 'reservation not found', { ...details, reservationId });

export const reservationOfAnotherProduct = (reservationId: string, productId: string, reservedProductId: string,
  details: Record<string, unknown> = {}) =>
  inventoryError('RESERVATION_PRODUCT_MISMATCH', 'the reservation is of another product', { ...details, reservationId, productId, reservedProductId });

/** RESERVATION_RELEASED / _CONSUMED / _EXPIRED for a reservation that can no longer be used, or null when it is held. */
export function reservationRefusal(r: ReservationRecord, reservationId: string, now: number,
  details: Record<string, unknown> = {}): AtomicError | null {
  const status = seenStatus(r, now);
  if (status === 'held') return null;
  return inventoryError(`RESERVATION_${status.toUpperCase()}` as InventoryErrorCode, `the reservation is ${status}`,
    { ...details, reservationId, status });
}

/** The reservation `reservationId` as the product `productId` names it, or the failure (matches lua/inventory.lua). */
export function checkReservationOf(productId: string, reservationId: string, r: ReservationRecord | null): ReservationRecord {
  if (!r) throw reservationNotFound(reservationId);
  if (r.productId !== productId) throw reservationOfAnotherProduct(reservationId, productId, r.productId);
  return r;
}

/** Throws the first failure of `reserve` (nothing may be written then); matches lua/inventory.lua. */
export function planReserve(productId: string, quantity: number, reservationId: string, exists: boolean, stock: number | null): void {
  if (exists) throw inventoryError('RESERVATION_EXISTS', 'reservation already exists', { reservationId });
  if (stock === null) throw productNotFound(productId);
  if (stock < quantity) throw inventoryError('OUT_OF_STOCK', 'not enough stock', { productId, requested: quantity, available: stock });
}

/** Throws the first failure of `release`; returns the stock after giving the units back. Matches lua/inventory.lua. */
export function planRelease(productId: string, reservationId: string, found: ReservationRecord | null, now: number, stock: number | null): number {
  const r = checkReservationOf(productId, reservationId, found);
  const refusal = reservationRefusal(r, reservationId, now);
  if (refusal) throw refusal;
  return raiseStock(productId, stock ?? 0, r.quantity);
}

/** A stored reservation as the port answers it, its status as seen at `now`. */
export const toReservation = (id: string, r: ReservationRecord, now: number): Reservation => ({
  id, productId: r.productId, quantity: r.quantity, status: seenStatus(r, now),
  createdAt: new Date(r.created).toISOString(), expiresAt: new Date(r.expires).toISOString(),
  ...(r.orderId !== null && { orderId: r.orderId }),
});
