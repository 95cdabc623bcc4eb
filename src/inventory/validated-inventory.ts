import { assertId } from '../../libs/redis-atomic/src';
import type { Inventory, StockLevel } from './inventory.port';
import { checkLowStock, checkRestock, checkSetStock } from './inventory-rules';

/**
 * The one gate every Inventory adapter sits behind (bound in InventoryModule): input that breaks a rule
 * rejects with VALIDATION_FAILED before any adapter — and so before Redis — sees it.
 */
export class ValidatedInventory implements Inventory {
  constructor(private readonly inner: Inventory) {}

  async setStock(productId: string, stock: number): Promise<StockLevel> {
    checkSetStock(productId, stock);
    return this.inner.setStock(productId, stock);
  }

  async restock(productId: string, quantity: number): Promise<StockLevel> {
    checkRestock(productId, quantity);
    return this.inner.restock(productId, quantity);
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
