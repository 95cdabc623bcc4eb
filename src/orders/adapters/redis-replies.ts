import { AtomicError, KernelErrorCode } from '../../../libs/redis-atomic/src';
import { ORDER_STATUSES } from '../order-rules';
import type { Order, OrderLine, OrderQueue, OrderStatus, UserStats } from '../orders.port';

/** Encoding and decoding shared by both Redis adapters: they store orders identically (see lua/orders.lua). */

/** The order hash's fields, in the order HMGET and the Lua replies use. */
export const ORDER_FIELDS = ['user', 'status', 'total', 'created', 'items'] as const;

const INTEGER = /^(0|-?[1-9]\d{0,15})$/;
const safeInteger = (text: unknown): number | null =>
  typeof text === 'string' && INTEGER.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;

export const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });

/** The lines as stored: canonical JSON of plain { productId, quantity, unitPrice } objects, in order. */
export const encodeItems = (items: readonly OrderLine[]): string =>
  JSON.stringify(items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })));

/** HMGET's five fields (or a Lua reply in the same shape) as an order; null when the order does not exist. */
export function decodeOrder(key: string, id: string, fields: readonly unknown[]): Order | null {
  const [user, status, total, created, items] = fields;
  if (user === null || user === undefined) return null;
  const totalValue = safeInteger(total);
  const createdValue = safeInteger(created);
  let lines: OrderLine[] | null = null;
  try {
    lines = JSON.parse(String(items)) as OrderLine[];
  } catch {
    /* refused below */
  }
  if (typeof user !== 'string' || !ORDER_STATUSES.includes(status as OrderStatus) || totalValue === null ||
    createdValue === null || !Array.isArray(lines) || !lines.every(isLine)) {
    throw corrupted(key, 'order is not in the shape our adapters write');
  }
  return { id, userId: user, items: lines, total: totalValue, status: status as OrderStatus, createdAt: new Date(createdValue).toISOString() };
}

const isLine = (line: unknown): line is OrderLine => {
  const l = line as OrderLine;
  return typeof l === 'object' && l !== null && typeof l.productId === 'string' &&
    Number.isSafeInteger(l.quantity) && l.quantity > 0 && Number.isSafeInteger(l.unitPrice) && l.unitPrice >= 0;
};

/** A user's stats hash (HMGET totalOrders totalSpent): absent fields are zeros. */
export function decodeStats(key: string, userId: string, [count, spent]: readonly unknown[]): UserStats {
  const totalOrders = count === null ? 0 : safeInteger(typeof count === 'number' ? String(count) : count);
  const totalSpent = spent === null ? 0 : safeInteger(typeof spent === 'number' ? String(spent) : spent);
  if (totalOrders === null || totalSpent === null) throw corrupted(key, 'user stats are not safe integers');
  return { userId, totalOrders, totalSpent };
}

/** LRANGE 0 -1 of both lists (newest first, as LPUSH leaves them) → oldest first. */
export const decodeQueue = (pending: readonly string[], processing: readonly string[]): OrderQueue =>
  ({ pending: [...pending].reverse(), processing: [...processing].reverse() });

/** TIME's [seconds, microseconds] → milliseconds, as lua/orders.lua computes `created`. */
export const timeMs = ([seconds, micros]: readonly (string | number)[]): number =>
  Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
