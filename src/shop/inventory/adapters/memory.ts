import { IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { stockEvents } from '../events';
import type { Inventory, StockLevel, WriteOptions } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, lowest, planRestock, productNotFound, requestOf } from '../inventory-rules';

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

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.shop, options?.idempotencyKey, request, this.idempotency);
  }
}
