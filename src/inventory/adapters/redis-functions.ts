import type { FunctionLibrary } from '../../../libs/redis-atomic/src';
import type { Inventory, StockLevel } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE } from '../inventory-rules';
import type { InventoryKeys } from '../keys';
import { decodeLevels } from './redis-replies';

/**
 * Every operation is one FCALL of lua/inventory.lua (reads with FCALL_RO): checks and writes run atomically on
 * the server, in one round trip, and business failures come back as typed error codes.
 */
export class RedisFunctionsInventory implements Inventory {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: InventoryKeys,
  ) {}

  async setStock(productId: string, stock: number): Promise<StockLevel> {
    return { productId, stock: (await this.lib.call('set_stock', [this.keys.stock()], [productId, stock])) as number };
  }

  async restock(productId: string, quantity: number): Promise<StockLevel> {
    return { productId, stock: (await this.lib.call('restock', [this.keys.stock()], [productId, quantity])) as number };
  }

  async get(productId: string): Promise<StockLevel> {
    return { productId, stock: (await this.lib.callReadOnly('get', [this.keys.stock()], [productId])) as number };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    const rows = (await this.lib.callReadOnly('low_stock', [this.keys.stock()], [below, limit])) as unknown[];
    return decodeLevels(this.keys.stock(), rows);
  }
}
