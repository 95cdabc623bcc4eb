import type Redis from 'ioredis';
import { decodeRedisError, execMulti, WatchRunner } from '../../../libs/redis-atomic/src';
import type { Inventory, StockLevel } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, planRestock, productNotFound } from '../inventory-rules';
import type { InventoryKeys } from '../keys';
import { decodeLevels, decodeStock } from './redis-replies';

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per operation:
 * - setStock: plain MULTI of one ZADD — it reads nothing and overwrites whatever was there;
 * - restock: WATCH the stock set, ZSCORE, check, MULTI { ZINCRBY }. It must read: PRODUCT_NOT_FOUND alone could
 *   be had without a read (`ZADD XX INCR` answers nil for an unknown member), but the bound that keeps stock an
 *   exact integer (< 2^53) depends on the current level, and MULTI cannot branch on it;
 * - get, lowStock: single reads (ZSCORE, ZRANGEBYSCORE).
 */
export class RedisTransactionsInventory implements Inventory {
  constructor(
    private readonly client: Redis,
    private readonly watch: WatchRunner,
    private readonly keys: InventoryKeys,
  ) {}

  async setStock(productId: string, stock: number): Promise<StockLevel> {
    await execMulti(this.client, (m) => m.zadd(this.keys.stock(), stock, productId));
    return { productId, stock };
  }

  restock(productId: string, quantity: number): Promise<StockLevel> {
    const key = this.keys.stock();
    return this.watch.run([key], async (connection) => {
      const current = decodeStock(key, productId, await connection.zscore(key, productId));
      let stock: number;
      try {
        stock = planRestock(productId, current, quantity);
      } catch (fail) {
        return { fail: fail as Error };
      }
      return {
        write: (m) => m.zincrby(key, quantity, productId),
        result: () => ({ productId, stock }),
      };
    });
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
}
