import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, IdempotencyOptions, idempotentCall, IdempotentCall, KernelErrorCode } from '@kernel/core';
import { IdempotentDecision, idempotentWatch, RedisClient, WatchRunner } from '@kernel/redis';
import type { Inventory, StockLevel, WriteOptions } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, planRestock, productNotFound, requestOf } from '../inventory-rules';
import { stockEvents } from '../events';
import type { InventoryKeys } from '../keys';
import { decodeLevels, decodeStock, toLevel } from './redis-replies';

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per operation:
 * - setStock: WATCH the stock set, check its type and the event log's, MULTI { ZADD; XADD } (it was a plain MULTI
 *   before the event log: an XADD into a key of another type would fail inside EXEC after the ZADD applied);
 * - every write appends its event (XADD MAXLEN ~) in its MULTI; the event log's TYPE is read but not watched
 *   (every write of the shop appends to it: watching it would make them all conflict);
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
    private readonly client: RedisClient,
    private readonly watch: WatchRunner,
    private readonly keys: InventoryKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  async setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    const key = this.keys.stock();
    const call = this.call(options, requestOf.setStock(productId, stock));
    return this.transact(call, [key], async (c) => {
      const [type, eventsType] = await Promise.all([c.type(key), c.type(this.keys.events)]);
      checkEventsType(this.keys.events, eventsType);
      return type;
    }, (type): IdempotentDecision => {
      if (type !== 'zset' && type !== 'none') throw corrupted(key, 'key is not a zset');
      return { values: [stock], write: (m) => this.append(m.zadd(key, stock, productId), stockEvents.set(productId, stock)) };
    }, (values) => toLevel(productId, values));
  }

  restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    const key = this.keys.stock();
    return this.transact(this.call(options, requestOf.restock(productId, quantity)), [key],
      async (c) => {
        const [score, eventsType] = await Promise.all([c.zscore(key, productId), c.type(this.keys.events)]);
        checkEventsType(this.keys.events, eventsType);
        return decodeStock(key, productId, score);
      },
      (current): IdempotentDecision => {
        try {
          const stock = planRestock(productId, current, quantity);
          return { values: [stock], write: (m) => this.append(m.zincrby(key, quantity, productId), stockEvents.restocked(productId, quantity, stock)) };
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

  private append(m: ChainableCommander, { type, data }: { type: string; data: object }): void {
    m.xadd(this.keys.events, 'MAXLEN', '~', this.eventsMaxLen, '*', 'type', type, 'data', JSON.stringify(data));
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

/** XADD to a key of another type would fail inside EXEC after the other writes applied: refuse it before. */
export function checkEventsType(key: string, type: string): void {
  if (type !== 'stream' && type !== 'none') throw corrupted(key, 'event log is not a stream');
}
