import type Redis from 'ioredis';
import {
  AtomicError, decodeRedisError, execMulti, IdempotencyOptions, IdempotentCall, idempotentCall, IdempotentDecision, idempotentWatch,
  KernelErrorCode, WatchRunner,
} from '../../../libs/redis-atomic/src';
import type { Inventory, StockLevel, WriteOptions } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, planRestock, productNotFound, requestOf } from '../inventory-rules';
import type { InventoryKeys } from '../keys';
import { decodeLevels, decodeStock, toLevel } from './redis-replies';

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per operation:
 * - setStock: plain MULTI of one ZADD — it reads nothing and overwrites whatever was there;
 * - restock: WATCH the stock set, ZSCORE, check, MULTI { ZINCRBY }. It must read: PRODUCT_NOT_FOUND alone could
 *   be had without a read (`ZADD XX INCR` answers nil for an unknown member), but the bound that keeps stock an
 *   exact integer (< 2^53) depends on the current level, and MULTI cannot branch on it;
 * - with an idempotency key, a write also WATCHes and reads its record and writes it in the same MULTI
 *   (idempotentWatch), so setStock becomes a WATCH transaction too — one that checks the stock key's type
 *   first: a ZADD failing inside EXEC would not stop the record's SET;
 * - get, lowStock: single reads (ZSCORE, ZRANGEBYSCORE).
 */
export class RedisTransactionsInventory implements Inventory {
  constructor(
    private readonly client: Redis,
    private readonly watch: WatchRunner,
    private readonly keys: InventoryKeys,
    private readonly idempotency: IdempotencyOptions,
  ) {}

  async setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    const key = this.keys.stock();
    const call = this.call(options, requestOf.setStock(productId, stock));
    if (call) {
      return this.transact(call, [key], (c) => c.type(key), (type): IdempotentDecision => {
        if (type !== 'zset' && type !== 'none') throw corrupted(key, 'key is not a zset');
        return { values: [stock], write: (m) => m.zadd(key, stock, productId) };
      }, (values) => toLevel(productId, values));
    }
    await execMulti(this.client, (m) => m.zadd(key, stock, productId));
    return { productId, stock };
  }

  restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    const key = this.keys.stock();
    return this.transact(this.call(options, requestOf.restock(productId, quantity)), [key],
      async (c) => decodeStock(key, productId, await c.zscore(key, productId)),
      (current): IdempotentDecision => {
        try {
          const stock = planRestock(productId, current, quantity);
          return { values: [stock], write: (m) => m.zincrby(key, quantity, productId) };
        } catch (error) {
          return { error: error as AtomicError };
        }
      },
      (values) => toLevel(productId, values));
  }

  async get(productId: string): Promise<StockLevel> {
    const key = this.keys.stock();
    const score = await this.client.zscore(key, productId).catch((err) => Promise.reject(decodeRedisError(err)));
    const stock = decodeStock(key, productId, score);
    if (stock === null) throw productNotFound(productId);
    return { productId, stock };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    const key = this.keys.stock();
    const rows = await this.client.zrangebyscore(key, '-inf', `(${below}`, 'WITHSCORES', 'LIMIT', 0, limit)
      .catch((err) => Promise.reject(decodeRedisError(err)));
    return decodeLevels(key, rows);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, this.idempotency);
  }

  /** One WATCH transaction with the idempotency record watched, read and written in it (see idempotent-steps.ts). */
  private transact<R>(call: IdempotentCall | undefined, keys: string[], read: (c: Redis) => Promise<R>,
    decide: (data: R) => IdempotentDecision, decode: (values: unknown[]) => StockLevel): Promise<StockLevel> {
    return idempotentWatch(this.watch, { call, recordKey: (digest) => this.keys.record(digest), keys, read, decide, decode });
  }
}

const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });
