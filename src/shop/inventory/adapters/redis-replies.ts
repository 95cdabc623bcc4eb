import { AtomicError, KernelErrorCode } from '@kernel/core';
import type { StockLevel } from '../inventory.port';

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
