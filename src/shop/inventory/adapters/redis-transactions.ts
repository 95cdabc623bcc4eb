import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, IdempotencyOptions, idempotentCall, IdempotentCall, KernelErrorCode } from '@kernel/core';
import { execMulti, IdempotentDecision, idempotentWatch, RedisClient, WatchPlan, WatchRunner } from '@kernel/redis';
import type { Availability, Inventory, Reservation, StockLevel, SweepResult, WriteOptions } from '../inventory.port';
import {
  checkReservationOf, DEFAULT_LOW_STOCK_PAGE, DEFAULT_SWEEP, MAX_STOCK, newReservationId, planRelease, planReserve, planRestock, productNotFound,
  requestOf, ReservationRecord, toReservation,
} from '../inventory-rules';
import { stockEvents } from '../events';
import type { InventoryKeys } from '../keys';
import { listHeldFromIndex } from './held-index';
import { decodeLevels, decodeReservation, decodeStock, RESERVATION_FIELDS, reservationValues, toLevel } from './redis-replies';

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
 * Reservations (keys.ts), each reading what it decides on under WATCH:
 * - reserve: WATCH stock, held, the reservation → ZSCORE, HGET, EXISTS, TIME, TYPE of the deadline index →
 *   MULTI { ZINCRBY −q; HINCRBY held +q; HSET reservation; ZADD deadline; XADD };
 * - release: WATCH stock, held, the reservation → HMGET, ZSCORE, HGET, TIME → MULTI { ZINCRBY +q; HINCRBY −q;
 *   HSET status; ZREM deadline; XADD };
 * - expireDue: ZRANGEBYSCORE of the deadline index (a plain read: it only names candidates), then WATCH stock,
 *   held and every candidate → re-read each, TIME → MULTI { per expired one: ZINCRBY, HINCRBY, HSET, ZREM, XADD;
 *   ZREM of the ones no longer held }. The deadline index is written but not read for the decision: not watched.
 * - getReservation: HMGET + TIME; availability: MULTI { ZSCORE; HGET } (one snapshot).
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

  reserve(productId: string, quantity: number, ttlSeconds: number, options?: WriteOptions): Promise<Reservation> {
    const call = this.call(options, requestOf.reserve(productId, quantity, ttlSeconds));
    const id = newReservationId(call);
    const k = this.keys;
    const [stock, held, key] = [k.stock(), k.held(), k.reservation(id)];
    return this.transactReservation(call, id, [stock, held, key], async (c) => {
      const [score, heldValue, exists, deadlinesType, eventsType, time] = await read(c, (p) => p.zscore(stock, productId)
        .hget(held, productId).exists(key).type(k.deadlines()).type(k.events).time()) as
        [string | null, string | null, number, string, string, string[]];
      checkEventsType(k.events, eventsType);
      if (deadlinesType !== 'zset' && deadlinesType !== 'none') throw corrupted(k.deadlines(), 'key is not a zset');
      return { level: decodeStock(stock, productId, score), held: decodeHeld(held, productId, heldValue), exists: exists === 1, now: timeMs(time) };
    }, ({ level, held: units, exists, now }): IdempotentDecision => {
      try {
        planReserve(productId, quantity, id, exists, level);
      } catch (error) {
        return { error: error as AtomicError };
      }
      if (units + quantity > MAX_STOCK) throw corrupted(held, 'held units would pass 2^53 - 1');
      const r: ReservationRecord = { productId, quantity, status: 'held', created: now, expires: now + ttlSeconds * 1000, orderId: null };
      return {
        values: reservationValues(r),
        write: (m) => {
          m.zincrby(stock, -quantity, productId);
          m.hincrby(held, productId, quantity);
          m.hset(key, 'product', productId, 'quantity', quantity, 'status', 'held', 'created', r.created, 'expires', r.expires, 'order', '-');
          m.zadd(k.deadlines(), r.expires, id);
          this.append(m, stockEvents.reservationCreated(id, productId, quantity, r.expires, level! - quantity));
        },
      };
    });
  }

  release(productId: string, reservationId: string, options?: WriteOptions): Promise<Reservation> {
    const k = this.keys;
    const [stock, held, key] = [k.stock(), k.held(), k.reservation(reservationId)];
    return this.transactReservation(this.call(options, requestOf.release(productId, reservationId)), reservationId, [stock, held, key], async (c) => {
      const [fields, score, heldValue, deadlinesType, eventsType, time] = await read(c, (p) => p.hmget(key, ...RESERVATION_FIELDS)
        .zscore(stock, productId).hget(held, productId).type(k.deadlines()).type(k.events).time()) as
        [(string | null)[], string | null, string | null, string, string, string[]];
      checkEventsType(k.events, eventsType);
      if (deadlinesType !== 'zset' && deadlinesType !== 'none') throw corrupted(k.deadlines(), 'key is not a zset');
      return { r: decodeReservation(key, fields), level: decodeStock(stock, productId, score), held: decodeHeld(held, productId, heldValue), now: timeMs(time) };
    }, ({ r, level, held: units, now }): IdempotentDecision => {
      let after: number;
      try {
        after = planRelease(productId, reservationId, r, now, level);
      } catch (error) {
        return { error: error as AtomicError };
      }
      if (units < r!.quantity) throw corrupted(held, `held units of ${productId} are fewer than a live reservation holds`);
      return {
        values: reservationValues(r!, 'released'),
        write: (m) => {
          m.zincrby(stock, r!.quantity, productId);
          m.hincrby(held, productId, -r!.quantity);
          m.hset(key, 'status', 'released');
          m.zrem(k.deadlines(), reservationId);
          this.append(m, stockEvents.reservationReleased(reservationId, productId, r!.quantity, after));
        },
      };
    });
  }

  listHeld(limit = DEFAULT_SWEEP): Promise<Reservation[]> {
    return listHeldFromIndex(this.client, this.keys, limit, (productId, id) => this.getReservation(productId, id));
  }


  async getReservation(productId: string, reservationId: string): Promise<Reservation> {
    const key = this.keys.reservation(reservationId);
    const [fields, time] = await read(this.client, (p) => p.hmget(key, ...RESERVATION_FIELDS).time())
      .catch((err) => Promise.reject(decodeRedisError(err))) as [(string | null)[], string[]];
    return toReservation(reservationId, checkReservationOf(productId, reservationId, decodeReservation(key, fields)), timeMs(time));
  }

  async availability(productId: string): Promise<Availability> {
    const [stock, held] = [this.keys.stock(), this.keys.held()];
    const [score, heldValue] = await execMulti(this.client, (m) => m.zscore(stock, productId).hget(held, productId)) as [string | null, string | null];
    const available = decodeStock(stock, productId, score);
    if (available === null) throw productNotFound(productId);
    return { productId, available, held: decodeHeld(held, productId, heldValue) };
  }

  async expireDue(limit = DEFAULT_SWEEP): Promise<SweepResult> {
    const k = this.keys;
    const [stock, held, deadlines] = [k.stock(), k.held(), k.deadlines()];
    const time = await this.client.time().catch((err) => Promise.reject(decodeRedisError(err)));
    const ids = await this.client.zrangebyscore(deadlines, '-inf', timeMs(time), 'LIMIT', 0, limit)
      .catch((err) => Promise.reject(decodeRedisError(err)));
    if (ids.length === 0) return { expired: [] };
    const keys = ids.map((id) => k.reservation(id));
    return this.watch.run<SweepResult>([stock, held, ...keys], async (c): Promise<WatchPlan<SweepResult>> => {
      const replies = await read(c, (p) => {
        for (const key of keys) p.hmget(key, ...RESERVATION_FIELDS);
        p.type(deadlines).type(k.events).time();
      });
      const [deadlinesType, eventsType, now] = [replies[ids.length] as string, replies[ids.length + 1] as string, timeMs(replies[ids.length + 2] as string[])];
      checkEventsType(k.events, eventsType);
      if (deadlinesType !== 'zset' && deadlinesType !== 'none') throw corrupted(deadlines, 'key is not a zset');
      const records = ids.map((id, i) => decodeReservation(keys[i], replies[i] as (string | null)[]));
      const products = [...new Set(records.filter((r) => r?.status === 'held' && now >= r.expires).map((r) => r!.productId))];
      const levels = new Map<string, { stock: number; held: number }>();
      if (products.length) {
        const values = await read(c, (p) => {
          for (const product of products) p.zscore(stock, product).hget(held, product);
        });
        products.forEach((product, i) => levels.set(product, {
          stock: decodeStock(stock, product, values[2 * i] as string | null) ?? 0,
          held: decodeHeld(held, product, values[2 * i + 1] as string | null),
        }));
      }
      const expiring: { id: string; r: ReservationRecord; after: number }[] = [];
      const leaving: string[] = [];
      ids.forEach((id, i) => {
        const r = records[i];
        if (!r || r.status !== 'held') return void leaving.push(id);
        if (now < r.expires) return;
        const level = levels.get(r.productId)!;
        if (level.held < r.quantity) throw corrupted(held, `held units of ${r.productId} are fewer than a live reservation holds`);
        if (level.stock + r.quantity > MAX_STOCK) return; // kept held until the stock has room (as lua/inventory.lua)
        level.stock += r.quantity;
        level.held -= r.quantity;
        expiring.push({ id, r, after: level.stock });
      });
      if (!expiring.length && !leaving.length) return { value: { expired: [] } };
      return {
        write: (m) => {
          for (const { id, r, after } of expiring) {
            m.zincrby(stock, r.quantity, r.productId);
            m.hincrby(held, r.productId, -r.quantity);
            m.hset(k.reservation(id), 'status', 'expired');
            m.zrem(deadlines, id);
            this.append(m, stockEvents.reservationExpired(id, r.productId, r.quantity, after));
          }
          for (const id of leaving) m.zrem(deadlines, id);
        },
        result: () => ({ expired: expiring.map((e) => e.id) }),
      };
    });
  }

  /** A reservation write: its reply values are reservation_reply's (lua/inventory.lua), so either strategy replays the other's records. */
  private transactReservation<R>(call: IdempotentCall | undefined, id: string, keys: string[], read: (c: Redis) => Promise<R>,
    decide: (data: R) => IdempotentDecision): Promise<Reservation> {
    const key = this.keys.reservation(id);
    return idempotentWatch(this.watch, {
      call, recordKey: (digest) => this.keys.record(digest), keys, read, decide,
      decode: (values) => toReservation(id, decodeReservation(key, values)!, -Infinity),
    });
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

/** One round trip of reads; the first failed reply (e.g. WRONGTYPE) is thrown. */
async function read(connection: RedisClient, queue: (pipeline: ChainableCommander) => void): Promise<unknown[]> {
  const pipeline = connection.pipeline();
  queue(pipeline);
  const replies = (await pipeline.exec())!;
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}

/** TIME's [seconds, microseconds] → milliseconds (as lua/include/stock.lua's now_ms). */
const timeMs = ([seconds, micros]: readonly (string | number)[]): number => Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);

const HELD = /^(0|[1-9]\d{0,15})$/;
/** Held units (an HGET of the held hash): 0 when absent; anything but an integer in [0, 2^53) is refused. */
export function decodeHeld(key: string, productId: string, value: string | null): number {
  if (value === null) return 0;
  if (!HELD.test(value) || !Number.isSafeInteger(Number(value))) throw corrupted(key, `held units of ${productId} are ${value}, not an integer in [0, 2^53)`);
  return Number(value);
}

const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });

/** XADD to a key of another type would fail inside EXEC after the other writes applied: refuse it before. */
export function checkEventsType(key: string, type: string): void {
  if (type !== 'stream' && type !== 'none') throw corrupted(key, 'event log is not a stream');
}
