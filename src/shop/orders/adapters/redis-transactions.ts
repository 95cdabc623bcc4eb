import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { execMulti, IdempotentDecision, idempotentWatch, RedisClient, WatchRunner } from '@kernel/redis';
import { decodeReservation, decodeStock, RESERVATION_FIELDS } from '../../inventory/adapters/redis-replies';
import { checkEventsType, decodeHeld } from '../../inventory/adapters/redis-transactions';
import { stockEvents } from '../../inventory/events';
import type { ReservationRecord } from '../../inventory/inventory-rules';
import { orderEvents } from '../events';
import type { OrderKeys } from '../keys';
import { byCreation, orderNotFound, planCancel, planComplete, planPlace, planRequeue, requestOf, validPlace } from '../order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats, WriteOptions } from '../orders.port';
import {
  corrupted, decodeOrder, decodeQueue, decodeStats, encodeItems, ORDER_FIELDS, orderValues, placedOrder, timeMs, toClaimedOrder, toOrder,
} from './redis-replies';

/**
 * MULTI/EXEC from the client. Every change here depends on something read first (stock, the order's status,
 * the oldest pending id), which MULTI alone cannot check, so each one WATCHes exactly the keys it reads —
 * type probes included (a write into a key of another type would fail inside EXEC after the others applied) —
 * decides in TypeScript (order-rules.ts, shared with the memory adapter), then queues its writes in MULTI/EXEC:
 *
 * | operation | WATCH (= everything read)                               | MULTI                                            |
 * |-----------|----------------------------------------------------------|--------------------------------------------------|
 * | place     | stock, order, user's orders, user's stats, pending       | ZINCRBY -q per line, HSET, SADD, HINCRBY ×2, LPUSH |
 * |  reserved | + the held hash and each consumed reservation           | HINCRBY held -q instead of ZINCRBY for those lines, HSET consumed, ZREM deadline |
 * | cancel    | stock, order, pending, then the order's user's stats     | ZINCRBY +q per line, HSET, HINCRBY ×2, LREM      |
 * | claimNext | pending, processing, then the oldest pending order       | LMOVE pending→processing, HSET                   |
 * | complete  | order, processing                                        | HSET, LREM                                       |
 * | requeue   | order, processing, pending                               | HSET, LREM, RPUSH                                |
 *
 * Keys named by what was read (the order's user's stats, the oldest pending order) are WATCHed as soon as their
 * name is known and read after that, so the decision still rests on one version of everything it read.
 * Reads (get, listByUser, userStats, queue) need no transaction beyond MULTI for a consistent snapshot of the
 * two queue lists.
 *
 * With an idempotency key, each of them also WATCHes and reads its record and writes it in the same MULTI
 * (idempotentWatch): the outcome — an order, or a business failure — in the layout of lua/orders.lua's replies,
 * so either strategy replays the other's records. A claim that found nothing pending records nothing.
 *
 * Every change appends its event (XADD MAXLEN ~ to the shop's stream) in its MULTI. The stream's TYPE is read with
 * the other keys but not watched: every write of the shop appends to it, so watching it would make them all conflict.
 *
 * Every operation WATCHes the one stock sorted set or the pending list, so in one process they queue behind
 * each other (WatchRunner's in-process key locks); between processes, WATCH aborts and retries.
 */
export class RedisTransactionsOrders implements Orders {
  constructor(
    private readonly client: RedisClient,
    private readonly watch: WatchRunner,
    private readonly keys: OrderKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  place(cmd: PlaceOrder, options?: WriteOptions): Promise<Order> {
    const call = this.call(options, requestOf.place(cmd));
    const order = validPlace(cmd, call);
    const { id, userId, items, total, reservations } = order;
    const k = this.keys;
    const [stock, orderKey, userOrders, stats, pending, held, deadlines] =
      [k.stock(), k.order(id), k.userOrders(userId), k.userStats(userId), k.pending(), k.inventory.held(), k.inventory.deadlines()];
    // Reserved lines: their reservations and the held hash are read (and so WATCHed) too; the deadline index is only written.
    const reservedAt = reservations.flatMap((r, i) => (r === undefined ? [] : [i]));
    const reservationKeys = reservedAt.map((i) => k.inventory.reservation(reservations[i]!));
    const watched = reservedAt.length ? [stock, orderKey, userOrders, stats, pending, held, ...reservationKeys]
      : [stock, orderKey, userOrders, stats, pending];
    return this.transact(call, watched, async (connection) => {
      const [exists, scores, statsFields, setType, queueType, time, eventsType, deadlinesType, ...reserved] = await read(connection, (p) => {
        p.exists(orderKey)
          .zmscore(stock, ...items.map((line) => line.productId))
          .hmget(stats, 'totalOrders', 'totalSpent')
          .type(userOrders)
          .type(pending)
          .time()
          .type(k.events)
          .type(deadlines);
        reservedAt.forEach((i, j) => p.hmget(reservationKeys[j], ...RESERVATION_FIELDS).hget(held, items[i].productId));
      }) as [number, (string | null)[], (string | null)[], string, string, string[], string, string, ...unknown[]];
      expectType(userOrders, setType, 'set');
      expectType(pending, queueType, 'list');
      checkEventsType(k.events, eventsType);
      if (reservedAt.length) expectType(deadlines, deadlinesType, 'zset');
      const records: (ReservationRecord | null | undefined)[] = items.map(() => undefined);
      const heldUnits: number[] = [];
      reservedAt.forEach((i, j) => {
        records[i] = decodeReservation(reservationKeys[j], reserved[2 * j] as (string | null)[]);
        heldUnits[i] = decodeHeld(held, items[i].productId, reserved[2 * j + 1] as string | null);
      });
      return {
        exists: exists === 1,
        stock: items.map((line, i) => decodeStock(stock, line.productId, scores[i])),
        stats: decodeStats(stats, userId, statsFields),
        created: timeMs(time),
        now: timeMs(time),
        reservations: records,
        heldUnits,
      };
    }, ({ created, heldUnits, ...reads }): IdempotentDecision => {
      try {
        planPlace(order, reads);
      } catch (error) {
        return { error: error as AtomicError };
      }
      for (const i of reservedAt) {
        if (heldUnits[i] < items[i].quantity) throw corrupted(held, `held units of ${items[i].productId} are fewer than a live reservation holds`);
      }
      return {
        values: [created],
        write: (m) => {
          items.forEach((line, i) => {
            if (reservations[i] === undefined) m.zincrby(stock, -line.quantity, line.productId);
            else m.hincrby(held, line.productId, -line.quantity);
          });
          m.hset(orderKey, 'user', userId, 'status', 'pending', 'total', total, 'created', created, 'items', encodeItems(items));
          m.sadd(userOrders, id);
          m.hincrby(stats, 'totalOrders', 1);
          m.hincrby(stats, 'totalSpent', total);
          m.lpush(pending, id);
          this.append(m, orderEvents.placed(order, items.map((line, i) => reads.stock[i]! - (reservations[i] === undefined ? line.quantity : 0))));
          reservedAt.forEach((i, j) => {
            m.hset(reservationKeys[j], 'status', 'consumed', 'order', id);
            m.zrem(deadlines, reservations[i]!);
            this.append(m, stockEvents.reservationConsumed(reservations[i]!, items[i].productId, items[i].quantity, id));
          });
        },
      };
    }, (values) => placedOrder(order, values));
  }

  cancel(orderId: string, options?: WriteOptions): Promise<Order> {
    const k = this.keys;
    const [stock, orderKey, pending] = [k.stock(), k.order(orderId), k.pending()];
    return this.transact(this.call(options, requestOf.cancel(orderId)), [stock, orderKey, pending], async (connection) => {
      const [fields, queueType, eventsType] = await read(connection, (p) => p.hmget(orderKey, ...ORDER_FIELDS).type(pending)
        .type(k.events)) as [(string | null)[], string, string];
      expectType(pending, queueType, 'list');
      checkEventsType(k.events, eventsType);
      const order = decodeOrder(orderKey, orderId, fields);
      if (!order) return null;
      // The order names its user's stats key (a user never changes): WATCHed before it is read.
      const stats = k.userStats(order.userId);
      const [, statsFields, scores] = await read(connection, (p) => p
        .watch(stats)
        .hmget(stats, 'totalOrders', 'totalSpent')
        .zmscore(stock, ...order.items.map((line) => line.productId))) as [unknown, (string | null)[], (string | null)[]];
      const levels = order.items.map((line, i) => decodeStock(stock, line.productId, scores[i]));
      return { order, levels, stats, statsFields };
    }, (reads): IdempotentDecision => {
      if (!reads) return { error: orderNotFound(orderId) };
      const { order, levels, stats, statsFields } = reads;
      let after: number[];
      try {
        after = planCancel(orderId, order, levels);
      } catch (error) {
        return { error: error as AtomicError };
      }
      if (statsFields[0] === null || statsFields[1] === null) throw corrupted(stats, 'the stats of a pending order are missing');
      decodeStats(stats, order.userId, statsFields);
      return {
        values: orderValues({ ...order, status: 'cancelled' }),
        write: (m) => {
          for (const line of order.items) m.zincrby(stock, line.quantity, line.productId);
          m.hset(orderKey, 'status', 'cancelled');
          m.hincrby(stats, 'totalOrders', -1);
          m.hincrby(stats, 'totalSpent', -order.total);
          m.lrem(pending, 1, orderId);
          this.append(m, orderEvents.cancelled(order, after));
        },
      };
    }, (values) => toOrder(orderKey, orderId, values));
  }

  claimNext(options?: WriteOptions): Promise<Order | null> {
    const [pending, processing] = [this.keys.pending(), this.keys.processing()];
    return this.transact(this.call(options, requestOf.claimNext()), [pending, processing], async (connection) => {
      const [oldest, listType, eventsType] = await read(connection, (p) => p.lindex(pending, -1).type(processing)
        .type(this.keys.events)) as [string | null, string, string];
      expectType(processing, listType, 'list');
      checkEventsType(this.keys.events, eventsType);
      if (oldest === null) return null;
      const orderKey = this.keys.order(oldest);
      await connection.watch(orderKey);
      return { orderKey, order: decodeOrder(orderKey, oldest, await connection.hmget(orderKey, ...ORDER_FIELDS)) };
    }, (data): IdempotentDecision<Order | null> => {
      // Empty: nothing to write, nor to record; EXEC still confirms the list stayed empty (else we retry and may find one).
      if (data === null) return { unrecorded: { write: () => undefined, result: () => null } };
      const { orderKey, order } = data;
      if (!order || order.status !== 'pending') {
        // Two reads, not one snapshot: a cancel or another claim may have committed in between. Then the watched
        // pending list changed and an (empty) EXEC aborts, so we retry; if it does not, the data really is wrong.
        return { unrecorded: { write: () => undefined, result: () => { throw corrupted(orderKey, 'a queued order is not pending'); } } };
      }
      return {
        values: [order.id, ...orderValues({ ...order, status: 'processing' })],
        write: (m) => {
          m.lmove(pending, processing, 'RIGHT', 'LEFT');
          m.hset(orderKey, 'status', 'processing');
          this.append(m, orderEvents.claimed(order));
        },
      };
    }, (values) => toClaimedOrder(pending, (id) => this.keys.order(id), values));
  }

  complete(orderId: string, options?: WriteOptions): Promise<Order> {
    const orderKey = this.keys.order(orderId);
    const processing = this.keys.processing();
    return this.transact(this.call(options, requestOf.complete(orderId)), [orderKey, processing], async (connection) => {
      const [fields, listType, eventsType] = await read(connection, (p) => p.hmget(orderKey, ...ORDER_FIELDS).type(processing)
        .type(this.keys.events)) as [(string | null)[], string, string];
      expectType(processing, listType, 'list');
      checkEventsType(this.keys.events, eventsType);
      return decodeOrder(orderKey, orderId, fields);
    }, (order): IdempotentDecision => {
      try {
        planComplete(orderId, order);
      } catch (error) {
        return { error: error as AtomicError };
      }
      return {
        values: orderValues({ ...order!, status: 'completed' }),
        write: (m) => {
          m.hset(orderKey, 'status', 'completed');
          m.lrem(processing, 1, orderId);
          this.append(m, orderEvents.completed(order!));
        },
      };
    }, (values) => toOrder(orderKey, orderId, values));
  }

  requeue(orderId: string, options?: WriteOptions): Promise<Order> {
    const orderKey = this.keys.order(orderId);
    const processing = this.keys.processing();
    const pending = this.keys.pending();
    return this.transact(this.call(options, requestOf.requeue(orderId)), [orderKey, processing, pending], async (connection) => {
      const [fields, processingType, pendingType, eventsType] = await read(connection, (p) => p.hmget(orderKey, ...ORDER_FIELDS).type(processing)
        .type(pending).type(this.keys.events)) as [(string | null)[], string, string, string];
      expectType(processing, processingType, 'list');
      expectType(pending, pendingType, 'list');
      checkEventsType(this.keys.events, eventsType);
      return decodeOrder(orderKey, orderId, fields);
    }, (order): IdempotentDecision => {
      try {
        planRequeue(orderId, order);
      } catch (error) {
        return { error: error as AtomicError };
      }
      return {
        values: orderValues({ ...order!, status: 'pending' }),
        write: (m) => {
          m.hset(orderKey, 'status', 'pending');
          m.lrem(processing, 1, orderId);
          m.rpush(pending, orderId); // the claiming end: the next claim takes it
          this.append(m, orderEvents.requeued(order!));
        },
      };
    }, (values) => toOrder(orderKey, orderId, values));
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

  private append(m: ChainableCommander, { type, data }: { type: string; data: object }): void {
    m.xadd(this.keys.events, 'MAXLEN', '~', this.eventsMaxLen, '*', 'type', type, 'data', JSON.stringify(data));
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, this.idempotency);
  }

  /** One WATCH transaction with the idempotency record watched, read and written in it (see idempotent-steps.ts). */
  private transact<R, T>(call: IdempotentCall | undefined, keys: string[], read: (c: Redis) => Promise<R>,
    decide: (data: R) => IdempotentDecision<T>, decode: (values: unknown[]) => T): Promise<T> {
    return idempotentWatch(this.watch, { call, recordKey: (digest) => this.keys.record(digest), keys, read, decide, decode });
  }
}

/** One round trip of reads; the first failed reply (e.g. WRONGTYPE) is thrown, to be decoded by the caller. */
async function read(connection: RedisClient, queue: (pipeline: ChainableCommander) => void): Promise<unknown[]> {
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
