import { assertId } from '@kernel/core';
import { checkWriteOptions } from '../inventory/inventory-rules';
import { checkPlace } from './order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats, WriteOptions } from './orders.port';

/**
 * The one gate every Orders adapter sits behind (bound in OrdersModule): input that breaks a rule rejects with
 * VALIDATION_FAILED before any adapter — and so before Redis — sees it (a bad Idempotency-Key too; such failures
 * are never recorded under the key). It hands adapters plain copies of the lines; an order without an id gets
 * one in the adapter, which knows the idempotency key's digest it may be derived from.
 */
export class ValidatedOrders implements Orders {
  constructor(private readonly inner: Orders) {}

  async place(cmd: PlaceOrder, options?: WriteOptions): Promise<Order> {
    const checked = checkPlace(cmd);
    return this.inner.place(checked, checkWriteOptions(options));
  }

  async cancel(orderId: string, options?: WriteOptions): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.cancel(orderId, checkWriteOptions(options));
  }

  async claimNext(options?: WriteOptions): Promise<Order | null> {
    return this.inner.claimNext(checkWriteOptions(options));
  }

  async complete(orderId: string, options?: WriteOptions): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.complete(orderId, checkWriteOptions(options));
  }

  async requeue(orderId: string, options?: WriteOptions): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.requeue(orderId, checkWriteOptions(options));
  }

  async get(orderId: string): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.get(orderId);
  }

  async listByUser(userId: string): Promise<Order[]> {
    assertId(userId, 'userId');
    return this.inner.listByUser(userId);
  }

  async userStats(userId: string): Promise<UserStats> {
    assertId(userId, 'userId');
    return this.inner.userStats(userId);
  }

  async queue(): Promise<OrderQueue> {
    return this.inner.queue();
  }
}
