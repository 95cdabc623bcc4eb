import { AtomicError, ID_PATTERN, KernelErrorCode } from '@kernel/core';
import { ORDER_STATUSES, ValidPlace } from '../order-rules';
import type { Order, OrderLine, OrderQueue, OrderStatus, UserStats } from '../orders.port';

/** Encoding and decoding shared by both Redis adapters: they store orders identically (see lua/orders.lua). */

/** The order hash's fields, in the order HMGET and the Lua replies use. */
export const ORDER_FIELDS = ['user', 'status', 'total', 'created', 'items'] as const;

const INTEGER = /^(0|-?[1-9]\d{0,15})$/;
/** A safe integer from a stored string ('0' or -?[1-9]\d*) or from an integer reply; null otherwise. */
const safeInteger = (value: unknown): number | null =>
  typeof value === 'number' ? (Number.isSafeInteger(value) ? value : null)
    : typeof value === 'string' && INTEGER.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : null;

export const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });

/** The lines as stored: canonical JSON of plain { productId, quantity, unitPrice } objects, in order. */
export const encodeItems = (items: readonly OrderLine[]): string =>
  JSON.stringify(items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })));

/** HMGET's five fields (or a Lua reply in the same shape) as an order; null when the order does not exist. */
export function decodeOrder(key: string, id: string, fields: readonly unknown[]): Order | null {
  const [user, status, total, created, items] = fields;
  if (user === null || user === undefined) return null;
  let lines: unknown = null;
  try {
    lines = JSON.parse(String(items));
  } catch {
    /* refused below */
  }
  return checkedOrder(key, id, [user, status, total, created], lines);
}

/**
 * The reply values of lua/orders.lua's write functions (after the `replayed` flag), decoded into port results.
 * The transactions adapter stores its idempotency records in the same layout, so both adapters replay each
 * other's records. A record joins the values with ',', so every value is comma-free: an order travels as flat
 * fields and lines, never as its items JSON. Values arrive as integers (fresh) or strings (replayed).
 *   place:             { created (ms) }   — the rest of the order is the request's (the fingerprint pins it)
 *   cancel, complete:  { user, status, total, created (ms), then per line: product id, quantity, unit price }
 *   claim:             { order id, then as cancel }
 */
export const orderValues = (order: Order): (string | number)[] => [order.userId, order.status, order.total,
  Date.parse(order.createdAt), ...order.items.flatMap((line) => [line.productId, line.quantity, line.unitPrice])];

/** place's reply: the order as placed. */
export const placedOrder = ({ id, userId, items, total }: ValidPlace, [created]: readonly unknown[]): Order =>
  ({ id, userId, items, total, status: 'pending', createdAt: new Date(Number(created)).toISOString() });

/** cancel's and complete's reply (`orderValues`) as the order; anything else is refused as corrupted. */
export function toOrder(key: string, id: string, values: readonly unknown[]): Order {
  const [user, status, total, created, ...flat] = values;
  const lines = flat.length % 3 === 0 ? Array.from({ length: flat.length / 3 }, (_, i) => ({
    productId: flat[3 * i], quantity: safeInteger(flat[3 * i + 1]), unitPrice: safeInteger(flat[3 * i + 2]),
  })) : null;
  return checkedOrder(key, id, [user, status, total, created], lines);
}

/** claim's reply: `{ order id, …orderValues }`. `key` (the pending queue) is named if it is refused. */
export function toClaimedOrder(key: string, orderKey: (id: string) => string, [id, ...values]: readonly unknown[]): Order {
  if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw corrupted(key, 'a claim names no valid order id');
  return toOrder(orderKey(id), id, values);
}

function checkedOrder(key: string, id: string, [user, status, total, created]: readonly unknown[], lines: unknown): Order {
  const totalValue = safeInteger(total);
  const createdValue = safeInteger(created);
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
  const totalOrders = count === null ? 0 : safeInteger(count);
  const totalSpent = spent === null ? 0 : safeInteger(spent);
  if (totalOrders === null || totalSpent === null) throw corrupted(key, 'user stats are not safe integers');
  return { userId, totalOrders, totalSpent };
}

/** LRANGE 0 -1 of both lists (newest first, as LPUSH leaves them) → oldest first. */
export const decodeQueue = (pending: readonly string[], processing: readonly string[]): OrderQueue =>
  ({ pending: [...pending].reverse(), processing: [...processing].reverse() });

/** TIME's [seconds, microseconds] → milliseconds, as lua/orders.lua computes `created`. */
export const timeMs = ([seconds, micros]: readonly (string | number)[]): number =>
  Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
