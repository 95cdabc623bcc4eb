import { IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { FunctionLibrary, idempotentFcall } from '@kernel/redis';
import type { Inventory, StockLevel, WriteOptions } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, requestOf } from '../inventory-rules';
import type { InventoryKeys } from '../keys';
import { decodeLevels, toLevel } from './redis-replies';

/**
 * Every operation is one FCALL of lua/inventory.lua (reads with FCALL_RO): checks, writes and the idempotency
 * record run atomically on the server, in one round trip, and business failures come back as typed error codes.
 */
export class RedisFunctionsInventory implements Inventory {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: InventoryKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    return this.write('set_stock', this.call(options, requestOf.setStock(productId, stock)), [productId, stock],
      (values) => toLevel(productId, values));
  }

  restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    return this.write('restock', this.call(options, requestOf.restock(productId, quantity)), [productId, quantity],
      (values) => toLevel(productId, values));
  }

  async get(productId: string): Promise<StockLevel> {
    return { productId, stock: (await this.lib.callReadOnly('get', [this.keys.stock()], [productId])) as number };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    const rows = (await this.lib.callReadOnly('low_stock', [this.keys.stock()], [below, limit])) as unknown[];
    return decodeLevels(this.keys.stock(), rows);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, this.idempotency);
  }

  private write(fn: string, call: IdempotentCall | undefined, args: (string | number)[],
    decode: (values: unknown[]) => StockLevel): Promise<StockLevel> {
    return idempotentFcall(this.lib, fn, {
      call, recordKey: (digest) => this.keys.record(digest), keys: [this.keys.stock(), this.keys.events], args: [...args, this.eventsMaxLen], decode,
    });
  }
}
