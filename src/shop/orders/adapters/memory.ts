import { IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { orderEvents } from '../events';
import type { MemoryStock } from '../../inventory/adapters/memory';
import { stockEvents } from '../../inventory/events';
import { byCreation, orderNotFound, planCancel, planComplete, planPlace, planRequeue, requestOf, validPlace } from '../order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats, WriteOptions } from '../orders.port';

/** A shop's orders in process memory: the memory strategy's counterpart of the order keys of keys.ts. */
export class MemoryOrderBook {
  readonly orders = new Map<string, Order>();
  readonly userOrders = new Map<string, Set<string>>();
  readonly stats = new Map<string, { totalOrders: number; totalSpent: number }>();
  /** Oldest first. */
  readonly pending: string[] = [];
  readonly processing: string[] = [];
}

export const memoryOrderBookName = (shop: string): string => `orders:${shop}`;

/** Thrown inside a keyed claim that found nothing pending: not an AtomicError, so MemoryIdempotency keeps no record. */
const NOTHING_PENDING = Symbol('nothing pending');

/**
 * In-process Orders with the same observable behaviour as the Redis adapters (same contract suite), acting on
 * Inventory's MemoryStock of the same shop, with the shop's idempotency records (shared with MemoryInventory).
 * Each operation reads, checks and writes synchronously — no `await` in between — so it is atomic on Node's
 * single thread.
 */
export class MemoryOrders implements Orders {
  constructor(
    private readonly stock: MemoryStock,
    private readonly book: MemoryOrderBook,
    private readonly records: MemoryIdempotency,
    private readonly shop: string,
    private readonly idempotency: IdempotencyOptions,
    private readonly events: MemoryEventLog,
    private readonly eventsMaxLen: number,
  ) {}

  async place(cmd: PlaceOrder, options?: WriteOptions): Promise<Order> {
    const call = this.call(options, requestOf.place(cmd));
    return this.records.run(call, () => this.placeNow(cmd, call));
  }

  async cancel(orderId: string, options?: WriteOptions): Promise<Order> {
    return this.records.run(this.call(options, requestOf.cancel(orderId)), () => this.cancelNow(orderId));
  }

  async claimNext(options?: WriteOptions): Promise<Order | null> {
    const call = this.call(options, requestOf.claimNext());
    try {
      return this.records.run(call, () => {
        const claimed = this.claimNow();
        if (claimed === null && call) throw NOTHING_PENDING; // no effect, so no record (see the port)
        return claimed;
      });
    } catch (err) {
      if (err === NOTHING_PENDING) return null;
      throw err;
    }
  }

  async complete(orderId: string, options?: WriteOptions): Promise<Order> {
    return this.records.run(this.call(options, requestOf.complete(orderId)), () => this.completeNow(orderId));
  }

  async requeue(orderId: string, options?: WriteOptions): Promise<Order> {
    return this.records.run(this.call(options, requestOf.requeue(orderId)), () => {
      const order = this.book.orders.get(orderId) ?? null;
      planRequeue(orderId, order);
      order!.status = 'pending';
      remove(this.book.processing, orderId);
      this.book.pending.unshift(orderId); // the oldest end: the next claim takes it
      this.append(orderEvents.requeued(order!));
      return copy(order!);
    });
  }

  private placeNow(cmd: PlaceOrder, call: IdempotentCall | undefined): Order {
    const valid = validPlace(cmd, call);
    const { id, userId, items, total, reservations } = valid;
    const stats = this.stats(userId);
    const records = reservations.map((rid) => (rid === undefined ? undefined : this.stock.reservations.get(rid) ?? null));
    planPlace(valid, {
      exists: this.book.orders.has(id),
      stock: items.map((line) => this.stock.levels.get(line.productId) ?? null),
      stats,
      reservations: records,
      now: Date.now(),
    });
    items.forEach((line, i) => {
      const r = records[i];
      if (!r) return void this.stock.levels.set(line.productId, this.stock.levels.get(line.productId)! - line.quantity);
      this.stock.hold(line.productId, -line.quantity); // a reserved line takes the held units
      r.status = 'consumed';
      r.orderId = id;
      this.stock.deadlines.delete(reservations[i]!);
    });
    const order: Order = { id, userId, items: items.map((line) => ({ ...line })), total, status: 'pending', createdAt: new Date().toISOString() };
    this.book.orders.set(id, order);
    let ids = this.book.userOrders.get(userId);
    if (!ids) this.book.userOrders.set(userId, (ids = new Set()));
    ids.add(id);
    this.book.stats.set(userId, { totalOrders: stats.totalOrders + 1, totalSpent: stats.totalSpent + total });
    this.book.pending.push(id);
    this.append(orderEvents.placed(order, items.map((line) => this.stock.levels.get(line.productId)!)));
    items.forEach((line, i) => {
      if (records[i]) this.append(stockEvents.reservationConsumed(reservations[i]!, line.productId, line.quantity, id));
    });
    return copy(order);
  }

  private cancelNow(orderId: string): Order {
    const order = this.book.orders.get(orderId) ?? null;
    const after = planCancel(orderId, order, order ? order.items.map((line) => this.stock.levels.get(line.productId) ?? null) : []);
    order!.items.forEach((line, i) => this.stock.levels.set(line.productId, after[i]));
    order!.status = 'cancelled';
    const stats = this.stats(order!.userId);
    this.book.stats.set(order!.userId, { totalOrders: stats.totalOrders - 1, totalSpent: stats.totalSpent - order!.total });
    remove(this.book.pending, orderId);
    this.append(orderEvents.cancelled(order!, after));
    return copy(order!);
  }

  private claimNow(): Order | null {
    const id = this.book.pending.shift();
    if (id === undefined) return null;
    this.book.processing.push(id);
    const order = this.book.orders.get(id)!;
    order.status = 'processing';
    this.append(orderEvents.claimed(order));
    return copy(order);
  }

  private completeNow(orderId: string): Order {
    const order = this.book.orders.get(orderId) ?? null;
    planComplete(orderId, order);
    order!.status = 'completed';
    remove(this.book.processing, orderId);
    this.append(orderEvents.completed(order!));
    return copy(order!);
  }

  async get(orderId: string): Promise<Order> {
    const order = this.book.orders.get(orderId);
    if (!order) throw orderNotFound(orderId);
    return copy(order);
  }

  async listByUser(userId: string): Promise<Order[]> {
    return [...(this.book.userOrders.get(userId) ?? [])].map((id) => copy(this.book.orders.get(id)!)).sort(byCreation);
  }

  async userStats(userId: string): Promise<UserStats> {
    return { userId, ...this.stats(userId) };
  }

  async queue(): Promise<OrderQueue> {
    return { pending: [...this.book.pending], processing: [...this.book.processing] };
  }

  private append({ type, data }: { type: string; data: object }): void {
    this.events.append(type, data as Record<string, unknown>, this.eventsMaxLen);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.shop, options?.idempotencyKey, request, this.idempotency);
  }

  private stats(userId: string): { totalOrders: number; totalSpent: number } {
    return this.book.stats.get(userId) ?? { totalOrders: 0, totalSpent: 0 };
  }
}

/** Callers get copies: nothing they do to a result can change the book. */
const copy = (order: Order): Order => ({ ...order, items: order.items.map((line) => ({ ...line })) });

function remove(list: string[], id: string): void {
  const at = list.indexOf(id);
  if (at >= 0) list.splice(at, 1);
}
