import { assertId } from '@kernel/core';
import type { Inventory, StockLevel, WriteOptions } from './inventory.port';
import { checkLowStock, checkRestock, checkSetStock, checkWriteOptions } from './inventory-rules';

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
}
