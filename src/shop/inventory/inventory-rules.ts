import { assertId, assertIdempotencyKey, AtomicError, validationFailed } from '@kernel/core';
import type { InventoryErrorCode, WriteOptions } from './inventory.port';

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
