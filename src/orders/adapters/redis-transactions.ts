import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { decodeRedisError, execMulti, WatchRunner } from '../../../libs/redis-atomic/src';
import { decodeStock } from '../../inventory/adapters/redis-replies';
import type { OrderKeys } from '../keys';
import { byCreation, orderNotFound, planCancel, planComplete, planPlace, validPlace } from '../order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats } from '../orders.port';
import { corrupted, decodeOrder, decodeQueue, decodeStats, encodeItems, ORDER_FIELDS, timeMs } from './redis-replies';

/**
 * MULTI/EXEC from the client. Every change here depends on something read first (stock, the order's status,
 * the oldest pending id), which MULTI alone cannot check, so each one WATCHes exactly the keys it reads —
 * type probes included (a write into a key of another type would fail inside EXEC after the others applied) —
 * decides in TypeScript (order-rules.ts, shared with the memory adapter), then queues its writes in MULTI/EXEC:
 *
 * | operation | WATCH (= everything read)                           | MULTI                                            |
 * |-----------|------------------------------------------------------|--------------------------------------------------|
 * | place     | stock, order, user's orders, user's stats, pending   | ZINCRBY -q per line, HSET, SADD, HINCRBY ×2, LPUSH |
 * | cancel    | stock, order, user's stats, pending                  | ZINCRBY +q per line, HSET, HINCRBY ×2, LREM      |
 * | claimNext | pending, processing, then the oldest pending order   | LMOVE pending→processing, HSET                   |
 * | complete  | order, processing                                    | HSET, LREM                                       |
 *
 * cancel first looks up the order's user (an order's user never changes) so that its stats key is watched
 * from the start. Reads (get, listByUser, userStats, queue) need no transaction beyond MULTI for a consistent
 * snapshot of the two queue lists.
 *
 * Every operation WATCHes the one stock sorted set or the pending list, so in one process they queue behind
 * each other (WatchRunner's in-process key locks); between processes, WATCH aborts and retries.
 */
export class RedisTransactionsOrders implements Orders {
  constructor(
    private readonly client: Redis,
    private readonly watch: WatchRunner,
    private readonly keys: OrderKeys,
  ) {}

  place(cmd: PlaceOrder): Promise<Order> {
    const order = validPlace(cmd);
    const { id, userId, items, total } = order;
    const k = this.keys;
    const [stock, orderKey, userOrders, stats, pending] =
      [k.stock(), k.order(id), k.userOrders(userId), k.userStats(userId), k.pending()];
    return this.watch.run([stock, orderKey, userOrders, stats, pending], async (connection) => {
      const [exists, scores, statsFields, setType, queueType, time] = await read(connection, (p) => p
        .exists(orderKey)
        .zmscore(stock, ...items.map((line) => line.productId))
        .hmget(stats, 'totalOrders', 'totalSpent')
        .type(userOrders)
        .type(pending)
        .time()) as [number, (string | null)[], (string | null)[], string, string, string[]];
      expectType(userOrders, setType, 'set');
      expectType(pending, queueType, 'list');
      const levels = items.map((line, i) => decodeStock(stock, line.productId, scores[i]));
      try {
        planPlace(order, { exists: exists === 1, stock: levels, stats: decodeStats(stats, userId, statsFields) });
      } catch (fail) {
        return { fail: fail as Error };
      }
      const created = timeMs(time);
      return {
        write: (m) => {
          for (const line of items) m.zincrby(stock, -line.quantity, line.productId);
          m.hset(orderKey, 'user', userId, 'status', 'pending', 'total', total, 'created', created, 'items', encodeItems(items));
          m.sadd(userOrders, id);
          m.hincrby(stats, 'totalOrders', 1);
          m.hincrby(stats, 'totalSpent', total);
          m.lpush(pending, id);
        },
        result: (): Order => ({ id, userId, items, total, status: 'pending', createdAt: new Date(created).toISOString() }),
      };
    });
  }

  async cancel(orderId: string): Promise<Order> {
    const k = this.keys;
    const orderKey = k.order(orderId);
    const userId = await this.client.hget(orderKey, 'user').catch((err) => Promise.reject(decodeRedisError(err)));
    if (userId === null) throw orderNotFound(orderId);
    const [stock, stats, pending] = [k.stock(), k.userStats(userId), k.pending()];
    return this.watch.run([stock, orderKey, stats, pending], async (connection) => {
      const [fields, statsFields, queueType] = await read(connection, (p) => p
        .hmget(orderKey, ...ORDER_FIELDS)
        .hmget(stats, 'totalOrders', 'totalSpent')
        .type(pending)) as [(string | null)[], (string | null)[], string];
      expectType(pending, queueType, 'list');
      const order = decodeOrder(orderKey, orderId, fields);
      if (order && order.userId !== userId) throw corrupted(orderKey, 'order belongs to another user than looked up');
      const scores = order ? (await read(connection, (p) => p.zmscore(stock, ...order.items.map((l) => l.productId))))[0] as (string | null)[] : [];
      const levels = order ? order.items.map((line, i) => decodeStock(stock, line.productId, scores[i])) : [];
      try {
        planCancel(orderId, order, levels);
      } catch (fail) {
        return { fail: fail as Error };
      }
      if (statsFields[0] === null || statsFields[1] === null) throw corrupted(stats, 'the stats of a pending order are missing');
      decodeStats(stats, userId, statsFields);
      const { items, total } = order!;
      return {
        write: (m) => {
          for (const line of items) m.zincrby(stock, line.quantity, line.productId);
          m.hset(orderKey, 'status', 'cancelled');
          m.hincrby(stats, 'totalOrders', -1);
          m.hincrby(stats, 'totalSpent', -total);
          m.lrem(pending, 1, orderId);
        },
        result: (): Order => ({ ...order!, status: 'cancelled' }),
      };
    });
  }

  claimNext(): Promise<Order | null> {
    const [pending, processing] = [this.keys.pending(), this.keys.processing()];
    return this.watch.run([pending, processing], async (connection) => {
      const [oldest, listType] = await read(connection, (p) => p.lindex(pending, -1).type(processing)) as [string | null, string];
      expectType(processing, listType, 'list');
      // Empty: nothing to write; EXEC still confirms the list stayed empty (else we retry and may find one).
      if (oldest === null) return { write: () => undefined, result: () => null };
      const orderKey = this.keys.order(oldest);
      await connection.watch(orderKey);
      const order = decodeOrder(orderKey, oldest, await connection.hmget(orderKey, ...ORDER_FIELDS));
      if (!order || order.status !== 'pending') {
        // Two reads, not one snapshot: a cancel or another claim may have committed in between. Then the watched
        // pending list changed and an (empty) EXEC aborts, so we retry; if it does not, the data really is wrong.
        return { write: () => undefined, result: () => { throw corrupted(orderKey, 'a queued order is not pending'); } };
      }
      return {
        write: (m) => {
          m.lmove(pending, processing, 'RIGHT', 'LEFT');
          m.hset(orderKey, 'status', 'processing');
        },
        result: (): Order => ({ ...order, status: 'processing' }),
      };
    });
  }

  complete(orderId: string): Promise<Order> {
    const orderKey = this.keys.order(orderId);
    const processing = this.keys.processing();
    return this.watch.run([orderKey, processing], async (connection) => {
      const [fields, listType] = await read(connection, (p) => p.hmget(orderKey, ...ORDER_FIELDS).type(processing)) as
        [(string | null)[], string];
      expectType(processing, listType, 'list');
      const order = decodeOrder(orderKey, orderId, fields);
      try {
        planComplete(orderId, order);
      } catch (fail) {
        return { fail: fail as Error };
      }
      return {
        write: (m) => {
          m.hset(orderKey, 'status', 'completed');
          m.lrem(processing, 1, orderId);
        },
        result: (): Order => ({ ...order!, status: 'completed' }),
      };
    });
  }

  async get(orderId: string): Promise<Order> {
    const key = this.keys.order(orderId);
    const order = decodeOrder(key, orderId, await this.client.hmget(key, ...ORDER_FIELDS).catch(rejectDecoded));
    if (!order) throw orderNotFound(orderId);
    return order;
  }

  async listByUser(userId: string): Promise<Order[]> {
    const ids = await this.client.smembers(this.keys.userOrders(userId)).catch(rejectDecoded);
    if (ids.length === 0) return [];
    const replies = await read(this.client, (p) => { for (const id of ids) p.hmget(this.keys.order(id), ...ORDER_FIELDS); })
      .catch(rejectDecoded);
    return ids.map((id, i) => decodeOrder(this.keys.order(id), id, replies[i] as (string | null)[]))
      .filter((order): order is Order => order !== null)
      .sort(byCreation);
  }

  async userStats(userId: string): Promise<UserStats> {
    const key = this.keys.userStats(userId);
    return decodeStats(key, userId, await this.client.hmget(key, 'totalOrders', 'totalSpent').catch(rejectDecoded));
  }

  async queue(): Promise<OrderQueue> {
    const [pending, processing] = await execMulti(this.client, (m) =>
      m.lrange(this.keys.pending(), 0, -1).lrange(this.keys.processing(), 0, -1)) as [string[], string[]];
    return decodeQueue(pending, processing);
  }
}

/** One round trip of reads; the first failed reply (e.g. WRONGTYPE) is thrown, to be decoded by the caller. */
async function read(connection: Redis, queue: (pipeline: ChainableCommander) => void): Promise<unknown[]> {
  const pipeline = connection.pipeline();
  queue(pipeline);
  const replies = (await pipeline.exec())!;
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** A key we are about to write must hold our type (or nothing): EXEC would apply the other commands anyway. */
function expectType(key: string, actual: string, expected: string): void {
  if (actual !== expected && actual !== 'none') throw corrupted(key, `key is not a ${expected}`);
}

const rejectDecoded = (err: unknown): Promise<never> => Promise.reject(decodeRedisError(err));
