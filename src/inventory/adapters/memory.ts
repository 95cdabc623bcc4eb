import type { Inventory, StockLevel } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, lowest, planRestock, productNotFound } from '../inventory-rules';

/**
 * A shop's stock levels in process memory (the memory strategy's counterpart of the stock sorted set).
 * Orders' memory adapter takes the same instance (via MemoryStores, under `memoryStockName(shop)`), exactly as
 * Orders' Redis adapters use Inventory's key.
 */
export class MemoryStock {
  readonly levels = new Map<string, number>();
}

export const memoryStockName = (shop: string): string => `inventory:${shop}:stock`;

/**
 * In-process Inventory with the same observable behaviour as the Redis adapters (same contract suite).
 * Each operation reads, checks and writes synchronously — no `await` in between — so it is atomic on Node's
 * single thread.
 */
export class MemoryInventory implements Inventory {
  constructor(private readonly stock: MemoryStock) {}

  async setStock(productId: string, stock: number): Promise<StockLevel> {
    this.stock.levels.set(productId, stock);
    return { productId, stock };
  }

  async restock(productId: string, quantity: number): Promise<StockLevel> {
    const stock = planRestock(productId, this.stock.levels.get(productId) ?? null, quantity);
    this.stock.levels.set(productId, stock);
    return { productId, stock };
  }

  async get(productId: string): Promise<StockLevel> {
    const stock = this.stock.levels.get(productId);
    if (stock === undefined) throw productNotFound(productId);
    return { productId, stock };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    return lowest([...this.stock.levels].map(([productId, stock]) => ({ productId, stock })), below, limit);
  }
}
