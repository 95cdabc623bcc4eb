import { assertId } from '@kernel/core';
import type { Availability, Inventory, Reservation, StockLevel, SweepResult, WriteOptions } from './inventory.port';
import { checkLowStock, checkReserve, checkRestock, checkSetStock, checkSweepLimit, checkWriteOptions } from './inventory-rules';

/**
 * The one gate every Inventory adapter sits behind (bound in InventoryModule): input that breaks a rule
 * rejects with VALIDATION_FAILED before any adapter — and so before Redis — sees it (a bad Idempotency-Key too;
 * such failures are never recorded under the key).
 */
export class ValidatedInventory implements Inventory {
  constructor(private readonly inner: Inventory) {}

  async setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    checkSetStock(productId, stock);
    return this.inner.setStock(productId, stock, checkWriteOptions(options));
  }

  async restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    checkRestock(productId, quantity);
    return this.inner.restock(productId, quantity, checkWriteOptions(options));
  }

  async get(productId: string): Promise<StockLevel> {
    assertId(productId, 'productId');
    return this.inner.get(productId);
  }

  async lowStock(below: number, limit?: number): Promise<StockLevel[]> {
    const query = checkLowStock(below, limit);
    return this.inner.lowStock(query.below, query.limit);
  }

  async reserve(productId: string, quantity: number, ttlSeconds: number, options?: WriteOptions): Promise<Reservation> {
    checkReserve(productId, quantity, ttlSeconds);
    return this.inner.reserve(productId, quantity, ttlSeconds, checkWriteOptions(options));
  }

  async release(productId: string, reservationId: string, options?: WriteOptions): Promise<Reservation> {
    assertId(productId, 'productId');
    assertId(reservationId, 'reservationId');
    return this.inner.release(productId, reservationId, checkWriteOptions(options));
  }

  async getReservation(productId: string, reservationId: string): Promise<Reservation> {
    assertId(productId, 'productId');
    assertId(reservationId, 'reservationId');
    return this.inner.getReservation(productId, reservationId);
  }

  async availability(productId: string): Promise<Availability> {
    assertId(productId, 'productId');
    return this.inner.availability(productId);
  }

  async expireDue(limit?: number): Promise<SweepResult> {
    return this.inner.expireDue(checkSweepLimit(limit));
  }

  async listHeld(limit?: number): Promise<Reservation[]> {
    return this.inner.listHeld(checkSweepLimit(limit));
  }
}
