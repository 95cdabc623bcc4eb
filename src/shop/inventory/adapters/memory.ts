import { IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { stockEvents } from '../events';
import type { Availability, Inventory, Reservation, StockLevel, SweepResult, WriteOptions } from '../inventory.port';
import {
  checkReservationOf, DEFAULT_LOW_STOCK_PAGE, DEFAULT_SWEEP, lowest, MAX_STOCK, newReservationId, planRelease, planReserve, planRestock,
  productNotFound, requestOf, ReservationRecord, toReservation,
} from '../inventory-rules';

/**
 * A shop's stock levels in process memory (the memory strategy's counterpart of the stock sorted set).
 * Orders' memory adapter takes the same instance (via MemoryStores, under `memoryStockName(shop)`), exactly as
 * Orders' Redis adapters use Inventory's key.
 */
export class MemoryStock {
  /** The available stock (units for sale), by product. */
  readonly levels = new Map<string, number>();
  /** Units held by live reservations, by product. */
  readonly held = new Map<string, number>();
  readonly reservations = new Map<string, ReservationRecord>();
  /** The deadline index: held reservation id → expiry (ms). */
  readonly deadlines = new Map<string, number>();

  hold(productId: string, delta: number): void {
    this.held.set(productId, (this.held.get(productId) ?? 0) + delta);
  }
}

export const memoryStockName = (shop: string): string => `inventory:${shop}:stock`;

/**
 * The shop's idempotency records in process memory, shared by Inventory's and Orders' memory adapters (one key
 * space per shop, as the Redis adapters share the shop's `shop-idem` keys).
 */
export const memoryShopRecordsName = (shop: string): string => `shop:${shop}:idempotency`;

/**
 * In-process Inventory with the same observable behaviour as the Redis adapters (same contract suite).
 * Each operation reads, checks and writes synchronously — no `await` in between — so it is atomic on Node's
 * single thread.
 */
export class MemoryInventory implements Inventory {
  constructor(
    private readonly stock: MemoryStock,
    private readonly records: MemoryIdempotency,
    private readonly shop: string,
    private readonly idempotency: IdempotencyOptions,
    private readonly events: MemoryEventLog,
    private readonly eventsMaxLen: number,
  ) {}

  async setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    return this.records.run(this.call(options, requestOf.setStock(productId, stock)), () => {
      this.stock.levels.set(productId, stock);
      const { type, data } = stockEvents.set(productId, stock);
      this.events.append(type, data, this.eventsMaxLen);
      return { productId, stock };
    });
  }

  async restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    return this.records.run(this.call(options, requestOf.restock(productId, quantity)), () => {
      const stock = planRestock(productId, this.stock.levels.get(productId) ?? null, quantity);
      this.stock.levels.set(productId, stock);
      const { type, data } = stockEvents.restocked(productId, quantity, stock);
      this.events.append(type, data, this.eventsMaxLen);
      return { productId, stock };
    });
  }

  async get(productId: string): Promise<StockLevel> {
    const stock = this.stock.levels.get(productId);
    if (stock === undefined) throw productNotFound(productId);
    return { productId, stock };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    return lowest([...this.stock.levels].map(([productId, stock]) => ({ productId, stock })), below, limit);
  }

  async reserve(productId: string, quantity: number, ttlSeconds: number, options?: WriteOptions): Promise<Reservation> {
    const call = this.call(options, requestOf.reserve(productId, quantity, ttlSeconds));
    return this.records.run(call, () => {
      const id = newReservationId(call);
      const stock = this.stock.levels.get(productId) ?? null;
      planReserve(productId, quantity, id, this.stock.reservations.has(id), stock);
      const now = Date.now();
      const r: ReservationRecord = { productId, quantity, status: 'held', created: now, expires: now + ttlSeconds * 1000, orderId: null };
      this.stock.levels.set(productId, stock! - quantity);
      this.stock.hold(productId, quantity);
      this.stock.reservations.set(id, r);
      this.stock.deadlines.set(id, r.expires);
      this.append(stockEvents.reservationCreated(id, productId, quantity, r.expires, stock! - quantity));
      return toReservation(id, r, now);
    });
  }

  async release(productId: string, reservationId: string, options?: WriteOptions): Promise<Reservation> {
    return this.records.run(this.call(options, requestOf.release(productId, reservationId)), () => {
      const now = Date.now();
      const found = this.stock.reservations.get(reservationId) ?? null;
      const after = planRelease(productId, reservationId, found, now, this.stock.levels.get(productId) ?? null);
      const r = found!;
      this.stock.levels.set(productId, after);
      this.stock.hold(productId, -r.quantity);
      r.status = 'released';
      this.stock.deadlines.delete(reservationId);
      this.append(stockEvents.reservationReleased(reservationId, productId, r.quantity, after));
      return toReservation(reservationId, r, now);
    });
  }

  async getReservation(productId: string, reservationId: string): Promise<Reservation> {
    const r = checkReservationOf(productId, reservationId, this.stock.reservations.get(reservationId) ?? null);
    return toReservation(reservationId, r, Date.now());
  }

  async availability(productId: string): Promise<Availability> {
    const available = this.stock.levels.get(productId);
    if (available === undefined) throw productNotFound(productId);
    return { productId, available, held: this.stock.held.get(productId) ?? 0 };
  }

  async listHeld(limit = DEFAULT_SWEEP): Promise<Reservation[]> {
    const now = Date.now();
    return [...this.stock.deadlines].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit)
      .map(([id]) => toReservation(id, this.stock.reservations.get(id)!, now));
  }

  async expireDue(limit = DEFAULT_SWEEP): Promise<SweepResult> {
    const now = Date.now();
    const due = [...this.stock.deadlines].filter(([, expires]) => expires <= now)
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0)).slice(0, limit);
    const expired: string[] = [];
    for (const [id] of due) {
      const r = this.stock.reservations.get(id);
      if (!r || r.status !== 'held') {
        this.stock.deadlines.delete(id);
        continue;
      }
      const stock = this.stock.levels.get(r.productId) ?? 0;
      if (stock + r.quantity > MAX_STOCK) continue; // kept held until the stock has room (as lua/inventory.lua)
      this.stock.levels.set(r.productId, stock + r.quantity);
      this.stock.hold(r.productId, -r.quantity);
      r.status = 'expired';
      this.stock.deadlines.delete(id);
      this.append(stockEvents.reservationExpired(id, r.productId, r.quantity, stock + r.quantity));
      expired.push(id);
    }
    return { expired };
  }

  private append({ type, data }: { type: string; data: object }): void {
    this.events.append(type, data as Record<string, unknown>, this.eventsMaxLen);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.shop, options?.idempotencyKey, request, this.idempotency);
  }
}
