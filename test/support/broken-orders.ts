import type Redis from 'ioredis';
import { encodeItems } from '../../src/shop/orders/adapters/redis-replies';
import type { OrderKeys } from '../../src/shop/orders/keys';
import { newOrderId, orderTotal } from '../../src/shop/orders/order-rules';
import type { Order, Orders, PlaceOrder } from '../../src/shop/orders/orders.port';

/**
 * Deliberately broken Orders — the designs we refuse to ship — kept as test doubles to prove the shop's
 * invariant checkers catch them. They store data exactly like the real Redis adapters, so only their
 * (missing) checks or atomicity differ. Everything else delegates to a real Orders on the same shop.
 */
abstract class BrokenOrders implements Orders {
  constructor(protected readonly real: Orders, protected readonly client: Redis, protected readonly keys: OrderKeys) {}

  place: Orders['place'] = (cmd) => this.real.place(cmd);
  cancel: Orders['cancel'] = (id) => this.real.cancel(id);
  claimNext: Orders['claimNext'] = () => this.real.claimNext();
  complete: Orders['complete'] = (id) => this.real.complete(id);
  requeue: Orders['requeue'] = (id) => this.real.requeue(id);
  get: Orders['get'] = (id) => this.real.get(id);
  listByUser: Orders['listByUser'] = (id) => this.real.listByUser(id);
  userStats: Orders['userStats'] = (id) => this.real.userStats(id);
  queue: Orders['queue'] = () => this.real.queue();

  /** The seed's Step 4 writes — stock, order, user set, user stats, queue — queued on `multi`. */
  protected queueOrder(multi: ReturnType<Redis['multi']>, cmd: PlaceOrder, id: string, created: number,
    stock: (productId: string, quantity: number) => void): Order {
    const total = orderTotal(cmd.items);
    for (const line of cmd.items) stock(line.productId, line.quantity);
    multi.hset(this.keys.order(id), 'user', cmd.userId, 'status', 'pending', 'total', total, 'created', created, 'items', encodeItems(cmd.items));
    multi.sadd(this.keys.userOrders(cmd.userId), id);
    multi.hincrby(this.keys.userStats(cmd.userId), 'totalOrders', 1);
    multi.hincrby(this.keys.userStats(cmd.userId), 'totalSpent', total);
    multi.lpush(this.keys.pending(), id);
    return { id, userId: cmd.userId, items: cmd.items, total, status: 'pending', createdAt: new Date(created).toISOString() };
  }
}

/** The seed's Step 4: one MULTI { ZINCRBY -q, HSET, SADD, HINCRBY, LPUSH } and no stock check — atomic, but it oversells. */
export class SeedMultiOrders extends BrokenOrders {
  override place = async (cmd: PlaceOrder): Promise<Order> => {
    const multi = this.client.multi();
    const order = this.queueOrder(multi, cmd, cmd.id ?? newOrderId(), Date.now(),
      (productId, quantity) => multi.zincrby(this.keys.stock(), -quantity, productId));
    await multi.exec();
    return order;
  };
}

/** Checks stock on a plain read, then writes the new absolute level in MULTI — without WATCH. Loses updates. */
export class ReadThenWriteOrders extends BrokenOrders {
  override place = async (cmd: PlaceOrder): Promise<Order> => {
    const levels = await this.client.zmscore(this.keys.stock(), ...cmd.items.map((line) => line.productId));
    cmd.items.forEach((line, i) => {
      if (levels[i] === null || Number(levels[i]) < line.quantity) {
        throw Object.assign(new Error('out of stock'), { code: 'OUT_OF_STOCK' });
      }
    });
    const multi = this.client.multi();
    const order = this.queueOrder(multi, cmd, cmd.id ?? newOrderId(), Date.now(), (productId, quantity) => {
      const i = cmd.items.findIndex((line) => line.productId === productId);
      multi.zadd(this.keys.stock(), Number(levels[i]) - quantity, productId);
    });
    await multi.exec();
    return order;
  };
}

/** Cancels atomically, but forgets half of it: the order stays in the pending queue and in the user's stats. */
export class LeakyCancelOrders extends BrokenOrders {
  override cancel = async (orderId: string): Promise<Order> => {
    const order = await this.real.get(orderId);
    if (order.status !== 'pending') throw Object.assign(new Error('not cancellable'), { code: 'ORDER_NOT_CANCELLABLE' });
    const multi = this.client.multi();
    for (const line of order.items) multi.zincrby(this.keys.stock(), line.quantity, line.productId);
    multi.hset(this.keys.order(orderId), 'status', 'cancelled');
    await multi.exec();
    return { ...order, status: 'cancelled' };
  };
}

/**
 * Consumes reservations without checking their state: one MULTI takes each reserved line's units from the held
 * hash and marks the reservation consumed — whether it is held, released, expired or already consumed. Atomic,
 * but a reservation can end twice (released and then consumed) and held units go below zero.
 */
export class UncheckedConsumeOrders extends BrokenOrders {
  override place = async (cmd: PlaceOrder): Promise<Order> => {
    if (!cmd.items.some((line) => line.reservationId)) return this.real.place(cmd);
    const id = cmd.id ?? newOrderId();
    const multi = this.client.multi();
    const items = cmd.items.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice }));
    const order = this.queueOrder(multi, { ...cmd, items }, id, Date.now(), (productId, quantity) => {
      const reservationId = cmd.items.find((line) => line.productId === productId)!.reservationId;
      if (!reservationId) return void multi.zincrby(this.keys.stock(), -quantity, productId);
      multi.hincrby(this.keys.inventory.held(), productId, -quantity);
      multi.hset(this.keys.inventory.reservation(reservationId), 'status', 'consumed', 'order', id);
      multi.zrem(this.keys.inventory.deadlines(), reservationId);
    });
    await multi.exec();
    return order;
  };
}
