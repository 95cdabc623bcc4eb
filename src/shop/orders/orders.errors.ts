import type { ErrorStatuses } from '@kernel/nest/http';
import type { OrdersErrorCode } from './orders.port';

/** HTTP statuses of the Orders codes (the kernel's codes are mapped by the kernel). */
export const ORDERS_ERROR_STATUS: ErrorStatuses & Record<OrdersErrorCode, number> = {
  ORDER_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  ORDER_EXISTS: 409,
  ORDER_NOT_CANCELLABLE: 409,
  INVALID_TRANSITION: 409,
  OUT_OF_STOCK: 422,
  STOCK_LIMIT_EXCEEDED: 422,
  STATS_LIMIT_EXCEEDED: 422,
  RESERVATION_NOT_FOUND: 404,
  RESERVATION_PRODUCT_MISMATCH: 409,
  RESERVATION_QUANTITY_MISMATCH: 422,
  RESERVATION_RELEASED: 409,
  RESERVATION_CONSUMED: 409,
  RESERVATION_EXPIRED: 409,
};
