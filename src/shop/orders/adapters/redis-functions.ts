import { AtomicError, IdempotencyOptions, idempotentCall, IdempotentCall, isAtomicError, KernelErrorCode } from '@kernel/core';
import { FunctionLibrary, idempotentFcall, KeyLocks } from '@kernel/redis';
import type { OrderKeys } from '../keys';
import { byCreation, orderNotFound, requestOf, validPlace } from '../order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats, WriteOptions } from '../orders.port';
import { decodeOrder, decodeQueue, decodeStats, encodeItems, placedOrder, toClaimedOrder, toOrder } from './redis-replies';

/** Claims that find their candidate gone (another instance claimed it) retry with the new oldest, this often. */
const MAX_CLAIM_ATTEMPTS = 50;
/** A cancel whose order appeared after its lookup looks up again: once is enough (orders are never deleted). */
const MAX_CANCEL_ATTEMPTS = 3;

/**
 * Every change is one FCALL of lua/orders.lua, atomic on the server across stock, order, user set, stats, queue
 * and the idempotency record. Every key an FCALL touches is declared in KEYS, so where a key depends on stored
 * data the adapter looks it up first with a read-only call:
 * - cancel looks up the order's user (for the stats key): an order's user never changes, so the lookup cannot
 *   go stale; the function re-checks it anyway. An order not found is still sent (user ''), so that a keyed
 *   cancel records its ORDER_NOT_FOUND; if the order appeared meanwhile the function says so and we look again;
 * - claimNext peeks at the oldest pending id (for the order key); the function claims it only if it is still
 *   the oldest, else names the one that is and we retry. Claims of this process queue up in-process
 *   (KeyLocks), so only other instances can make a candidate go stale. A keyed claim calls the function even
 *   when the peek found nothing: its record may hold the claim to replay.
 * The function raises those retry signals (and QUEUE_EMPTY) instead of returning them: they are no outcomes,
 * so its idempotency wrapper keeps no record of them.
 */
export class RedisFunctionsOrders implements Orders {
  private readonly claims = new KeyLocks();

  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: OrderKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  place(cmd: PlaceOrder, options?: WriteOptions): Promise<Order> {
    const call = this.call(options, requestOf.place(cmd));
    const order = validPlace(cmd, call);
    const { id, userId, items, total, reservations } = order;
    const k = this.keys;
    if (reservations.some((r) => r !== undefined)) {
      const reserved = reservations.filter((r): r is string => r !== undefined);
      return this.write('place_reserved', call, [k.stock(), k.order(id), k.userOrders(userId), k.userStats(userId), k.pending(),
        k.inventory.held(), k.inventory.deadlines(), ...reserved.map((r) => k.inventory.reservation(r)), k.events],
      [id, userId, total, encodeItems(items), this.eventsMaxLen, ...items.flatMap((line, i) => [line.productId, line.quantity, reservations[i] ?? '-'])],
      (values) => placedOrder(order, values));
    }
    return this.write('place', call, [k.stock(), k.order(id), k.userOrders(userId), k.userStats(userId), k.pending(), k.events],
      [id, userId, total, encodeItems(items), this.eventsMaxLen, ...items.flatMap((line) => [line.productId, line.quantity])],
      (values) => placedOrder(order, values));
  }

  async cancel(orderId: string, options?: WriteOptions): Promise<Order> {
    const call = this.call(options, requestOf.cancel(orderId));
    const k = this.keys;
    const orderKey = k.order(orderId);
    for (let attempt = 1; ; attempt++) {
      const [found] = await this.getMany([orderId]);
      // No order, no user: any key of the slot stands in for the stats key, which the function then never touches.
      const userId = found?.userId ?? '';
      try {
        return await this.write('cancel', call, [k.stock(), orderKey, userId ? k.userStats(userId) : orderKey, k.pending(), k.events],
          [orderId, userId, this.eventsMaxLen], (values) => toOrder(orderKey, orderId, values));
      } catch (err) {
        if (!isAtomicError(err, 'ORDER_LOOKUP_STALE')) throw err;
        if (attempt >= MAX_CANCEL_ATTEMPTS) {
          throw new AtomicError(KernelErrorCode.CONFLICT, `gave up after ${attempt} attempts: the order kept changing`, { orderId });
        }
      }
    }
  }

  async claimNext(options?: WriteOptions): Promise<Order | null> {
    const call = this.call(options, requestOf.claimNext());
    const [pending, processing] = [this.keys.pending(), this.keys.processing()];
    const release = await this.claims.acquire([pending]);
    try {
      let candidate = (await this.lib.callReadOnly('peek', [pending])) as string | null;
      for (let attempt = 1; ; attempt++) {
        if (candidate === null && !call) return null; // nothing pending, and no record that could hold a claim
        if (attempt > MAX_CLAIM_ATTEMPTS) {
          throw new AtomicError(KernelErrorCode.CONFLICT, `gave up after ${MAX_CLAIM_ATTEMPTS} attempts: other workers kept claiming first`);
        }
        const keys = candidate === null ? [pending, processing, this.keys.events]
          : [pending, processing, this.keys.order(candidate), this.keys.events];
        try {
          return await this.write('claim', call, keys, [candidate ?? '', this.eventsMaxLen],
            (values) => toClaimedOrder(pending, (id) => this.keys.order(id), values));
        } catch (err) {
          if (isAtomicError(err, 'QUEUE_EMPTY')) return null;
          if (!isAtomicError(err, 'CLAIM_MOVED')) throw err;
          candidate = String(err.details.oldest);
        }
      }
    } finally {
      release();
    }
  }

  complete(orderId: string, options?: WriteOptions): Promise<Order> {
    const key = this.keys.order(orderId);
    return this.write('complete', this.call(options, requestOf.complete(orderId)), [key, this.keys.processing(), this.keys.events],
      [orderId, this.eventsMaxLen],
      (values) => toOrder(key, orderId, values));
  }

  requeue(orderId: string, options?: WriteOptions): Promise<Order> {
    const key = this.keys.order(orderId);
    return this.write('requeue', this.call(options, requestOf.requeue(orderId)), [key, this.keys.processing(), this.keys.pending(), this.keys.events],
      [orderId, this.eventsMaxLen],
      (values) => toOrder(key, orderId, values));
  }

  async get(orderId: string): Promise<Order> {
    const [order] = await this.getMany([orderId]);
    if (!order) throw orderNotFound(orderId);
    return order;
  }

  async listByUser(userId: string): Promise<Order[]> {
    const ids = (await this.lib.callReadOnly('user_orders', [this.keys.userOrders(userId)])) as string[];
    const orders = await this.getMany(ids);
    return orders.filter((order): order is Order => order !== null).sort(byCreation);
  }

  async userStats(userId: string): Promise<UserStats> {
    const key = this.keys.userStats(userId);
    return decodeStats(key, userId, (await this.lib.callReadOnly('user_stats', [key])) as unknown[]);
  }

  async queue(): Promise<OrderQueue> {
    const [count, ...ids] = (await this.lib.callReadOnly('queue', [this.keys.pending(), this.keys.processing()])) as
      [number, ...string[]];
    return decodeQueue(ids.slice(0, count), ids.slice(count));
  }

  private async getMany(ids: readonly string[]): Promise<(Order | null)[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.keys.order(id));
    const flat = (await this.lib.callReadOnly('get', keys)) as unknown[];
    return ids.map((id, i) => decodeOrder(keys[i], id, flat.slice(5 * i, 5 * i + 5)));
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, this.idempotency);
  }

  /** A write FCALL with its idempotency record (see idempotent-steps.ts). */
  private write<T>(fn: string, call: IdempotentCall | undefined, keys: string[], args: (string | number)[],
    decode: (values: unknown[]) => T): Promise<T> {
    return idempotentFcall(this.lib, fn, { call, recordKey: (digest) => this.keys.record(digest), keys, args, decode });
  }
}
