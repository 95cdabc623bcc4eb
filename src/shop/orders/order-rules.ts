import { assertId, AtomicError, IdempotentCall, operationId, validationFailed } from '@kernel/core';
import {
  assertCount, productNotFound, raiseStock, ReservationRecord, reservationNotFound, reservationOfAnotherProduct, reservationRefusal,
} from '../inventory/inventory-rules';
import type { Order, OrderLine, OrdersErrorCode, OrderStatus, PlaceOrder, PlaceOrderLine, UserStats } from './orders.port';

/**
 * The Orders rules in plain TypeScript: input validation (shared by every adapter, so bad input never reaches
 * Redis) and the decisions of place / cancel / claim / complete used by the memory and transactions adapters.
 * lua/orders.lua implements the same rules server-side; the contract suite keeps them identical (codes,
 * messages and details).
 */

export const MAX_LINES = 100;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export const ordersError = (code: OrdersErrorCode, message: string, details: Record<string, unknown> = {}) =>
  new AtomicError(code, message, details);

/**
 * The id of an order placed without one: derived from the idempotency key when there is one (a retry names the
 * same order), else random. 32 hex digits (a UUID without dashes), within the id allowlist.
 */
export const placedOrderId = (call: IdempotentCall | undefined): string => operationId(call).replace(/-/g, '');

/** A fresh order id. */
export const newOrderId = (): string => placedOrderId(undefined);

/**
 * The normalized request an idempotency fingerprint is taken of — the same in every adapter, so a record means
 * the same thing whichever strategy wrote it. Names differ from Inventory's (the shop's key space is shared).
 * A place without an id is another request than one naming an id, even the id the key would derive.
 */
export const requestOf = {
  place: (cmd: PlaceOrder) => ['place', cmd.id ?? null, cmd.userId,
    cmd.items.map((l) => (l.reservationId === undefined ? [l.productId, l.quantity, l.unitPrice] : [l.productId, l.quantity, l.unitPrice, l.reservationId]))],
  cancel: (orderId: string) => ['cancel', orderId],
  claimNext: () => ['claimNext'],
  complete: (orderId: string) => ['complete', orderId],
  requeue: (orderId: string) => ['requeue', orderId],
};

/** A place command as adapters use it: the id is filled in, the total computed. */
export interface ValidPlace {
  id: string;
  userId: string;
  /** The lines as the order keeps them (no reservation ids). */
  items: OrderLine[];
  total: number;
  /** Per line: the reservation it consumes, or undefined. */
  reservations: (string | undefined)[];
}

/** Validates a place command; returns a plain copy (the id stays absent when absent: adapters derive it). */
export function checkPlace(cmd: PlaceOrder): PlaceOrder {
  if (cmd === null || typeof cmd !== 'object') throw validationFailed('the order must be an object', { field: 'order' });
  if (cmd.id !== undefined) assertId(cmd.id, 'id');
  assertId(cmd.userId, 'userId');
  const { items } = cmd;
  if (!Array.isArray(items) || items.length === 0 || items.length > MAX_LINES) {
    throw validationFailed(`items must hold 1 to ${MAX_LINES} lines`, { field: 'items' });
  }
  const seen = new Set<string>();
  const reserved = new Set<string>();
  let total = 0;
  const lines = items.map((line, index): PlaceOrderLine => {
    const at = `items[${index}].`;
    if (line === null || typeof line !== 'object') throw validationFailed(`${at.slice(0, -1)} must be an object`, { field: `items[${index}]` });
    assertId(line.productId, `${at}productId`);
    if (seen.has(line.productId)) throw validationFailed(`${at}productId repeats a product of an earlier line`, { field: `${at}productId` });
    seen.add(line.productId);
    assertCount(line.quantity, `${at}quantity`, 1);
    assertCount(line.unitPrice, `${at}unitPrice`, 0);
    total += line.quantity * line.unitPrice; // exact while it stays safe; checked on every step
    if (!Number.isSafeInteger(total)) {
      throw validationFailed(`the order total must be at most ${MAX_SAFE} minor units`, { field: 'items' });
    }
    if (line.reservationId !== undefined) {
      assertId(line.reservationId, `${at}reservationId`);
      if (reserved.has(line.reservationId)) {
        throw validationFailed(`${at}reservationId repeats a reservation of an earlier line`, { field: `${at}reservationId` });
      }
      reserved.add(line.reservationId);
      return { productId: line.productId, quantity: line.quantity, unitPrice: line.unitPrice, reservationId: line.reservationId };
    }
    return { productId: line.productId, quantity: line.quantity, unitPrice: line.unitPrice };
  });
  return { ...(cmd.id !== undefined && { id: cmd.id }), userId: cmd.userId, items: lines };
}

/** The adapters' own view of a command that passed the gate (or came straight to them in tests). */
export const validPlace = (cmd: PlaceOrder, call?: IdempotentCall): ValidPlace => ({
  id: cmd.id ?? placedOrderId(call), userId: cmd.userId,
  items: cmd.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice })),
  total: orderTotal(cmd.items), reservations: cmd.items.map((line) => line.reservationId),
});

export const orderTotal = (items: readonly OrderLine[]): number =>
  items.reduce((sum, line) => sum + line.quantity * line.unitPrice, 0);

/** What `place` reads: does the id exist, each line's stock (null = unknown product), the user's stats. */
export interface PlaceReads {
  exists: boolean;
  stock: readonly (number | null)[];
  stats: Omit<UserStats, 'userId'>;
  /** Per reserved line: the reservation as stored (null: none); and the server time (ms) to tell expired ones. */
  reservations?: readonly (ReservationRecord | null | undefined)[];
  now?: number;
}

/** Throws the first failure of `place` (then nothing may be written); matches lua/orders.lua. */
export function planPlace(cmd: ValidPlace, reads: PlaceReads): void {
  if (reads.exists) throw ordersError('ORDER_EXISTS', 'order already exists', { orderId: cmd.id });
  cmd.items.forEach((line, index) => {
    const stock = reads.stock[index];
    if (stock === null) throw productNotFound(line.productId, { index });
    const reservationId = cmd.reservations[index];
    if (reservationId !== undefined) {
      const r = reads.reservations?.[index] ?? null;
      if (!r) throw reservationNotFound(reservationId, { index });
      if (r.productId !== line.productId) throw reservationOfAnotherProduct(reservationId, line.productId, r.productId, { index });
      const refusal = reservationRefusal(r, reservationId, reads.now!, { index });
      if (refusal) throw refusal;
      if (r.quantity !== line.quantity) {
        throw ordersError('RESERVATION_QUANTITY_MISMATCH', 'the line must order exactly the units reserved',
          { index, reservationId, requested: line.quantity, reserved: r.quantity });
      }
      return;
    }
    if (stock < line.quantity) {
      throw ordersError('OUT_OF_STOCK', 'not enough stock', { index, productId: line.productId, requested: line.quantity, available: stock });
    }
  });
  if (reads.stats.totalSpent + cmd.total > MAX_SAFE) {
    throw ordersError('STATS_LIMIT_EXCEEDED', "the user's total spent would exceed the largest safe integer", { userId: cmd.userId });
  }
}

export const orderNotFound = (orderId: string) => ordersError('ORDER_NOT_FOUND', 'order not found', { orderId });

/**
 * Throws the first failure of `cancel`; `stock` holds each line's current stock. Returns the stock after
 * giving every line back. Matches lua/orders.lua.
 */
export function planCancel(orderId: string, order: Order | null, stock: readonly (number | null)[]): number[] {
  if (!order) throw orderNotFound(orderId);
  if (order.status !== 'pending') {
    throw ordersError('ORDER_NOT_CANCELLABLE', 'only a pending order can be cancelled', { orderId, status: order.status });
  }
  return order.items.map((line, index) => raiseStock(line.productId, stock[index] ?? 0, line.quantity));
}

/** Throws unless `complete` may move this order on. */
export function planComplete(orderId: string, order: Order | null): void {
  if (!order) throw orderNotFound(orderId);
  if (order.status !== 'processing') {
    throw ordersError('INVALID_TRANSITION', 'only a processing order can be completed', { orderId, status: order.status });
  }
}

/** Throws unless `requeue` may move this order back (a claim still processing). */
export function planRequeue(orderId: string, order: Order | null): void {
  if (!order) throw orderNotFound(orderId);
  if (order.status !== 'processing') {
    throw ordersError('INVALID_TRANSITION', 'only a processing order can be requeued', { orderId, status: order.status });
  }
}

export const ORDER_STATUSES: readonly OrderStatus[] = ['pending', 'processing', 'completed', 'cancelled'];

/** Orders oldest first, ties by id — the order every adapter lists a user's orders in. */
export const byCreation = (a: Order, b: Order): number =>
  a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
