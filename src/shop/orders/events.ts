import type { Order } from './orders.port';

/**
 * Orders' events (lua/orders.lua documents them; every adapter appends the same data). `stockAfter`: each line's
 * stock level after the change, in the order's line order.
 */
export const orderEvents = {
  placed: (order: Pick<Order, 'id' | 'userId' | 'total' | 'items'>, stockAfter: readonly number[]) =>
    ({ type: 'order.placed', data: withLines(order, stockAfter) }),
  cancelled: (order: Pick<Order, 'id' | 'userId' | 'total' | 'items'>, stockAfter: readonly number[]) =>
    ({ type: 'order.cancelled', data: withLines(order, stockAfter) }),
  claimed: (order: Pick<Order, 'id' | 'userId'>) => ({ type: 'order.claimed', data: { orderId: order.id, userId: order.userId } }),
  completed: (order: Pick<Order, 'id' | 'userId'>) => ({ type: 'order.completed', data: { orderId: order.id, userId: order.userId } }),
  requeued: (order: Pick<Order, 'id' | 'userId'>) => ({ type: 'order.requeued', data: { orderId: order.id, userId: order.userId } }),
};

function withLines({ id, userId, total, items }: Pick<Order, 'id' | 'userId' | 'total' | 'items'>, stockAfter: readonly number[]) {
  return {
    orderId: id, userId, total,
    items: items.map((line, i) => ({ productId: line.productId, quantity: line.quantity, stock: stockAfter[i] })),
  };
}
