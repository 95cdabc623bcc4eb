import { assertId } from '../../libs/redis-atomic/src';
import { checkPlace } from './order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats } from './orders.port';

/**
 * The one gate every Orders adapter sits behind (bound in OrdersModule): input that breaks a rule rejects with
 * VALIDATION_FAILED before any adapter — and so before Redis — sees it. It also gives an order without an id a
 * fresh one, and hands adapters plain copies of the lines.
 */
export class ValidatedOrders implements Orders {
  constructor(private readonly inner: Orders) {}

  async place(cmd: PlaceOrder): Promise<Order> {
    const { id, userId, items } = checkPlace(cmd);
    return this.inner.place({ id, userId, items });
  }

  async cancel(orderId: string): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.cancel(orderId);
  }

  async claimNext(): Promise<Order | null> {
    return this.inner.claimNext();
  }

  async complete(orderId: string): Promise<Order> {
    assertId(orderId, 'orderId');
    return this.inner.complete(orderId);
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
