import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import { INVENTORY_ERROR_DETAILS } from '../inventory/inventory.errors';
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

const id = { type: 'string', pattern: ID_PATTERN.source };
const status = { type: 'string', enum: ['pending', 'processing', 'completed', 'cancelled'], description: 'The order\'s status now' };
const units = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

/** What each Orders code carries besides its message (the API documentation; lua/orders.lua, order-rules.ts). */
export const ORDERS_ERROR_DETAILS: Record<OrdersErrorCode, ErrorDetailsDoc> = {
  ORDER_NOT_FOUND: { properties: { orderId: id }, required: ['orderId'] },
  PRODUCT_NOT_FOUND: INVENTORY_ERROR_DETAILS.PRODUCT_NOT_FOUND,
  ORDER_EXISTS: { properties: { orderId: id }, required: ['orderId'] },
  ORDER_NOT_CANCELLABLE: { properties: { orderId: id, status }, required: ['orderId', 'status'] },
  INVALID_TRANSITION: { properties: { orderId: id, status }, required: ['orderId', 'status'] },
  OUT_OF_STOCK: {
    properties: { index: INDEX_DETAIL, productId: id, requested: { ...units, minimum: 1 }, available: units },
    required: ['index', 'productId', 'requested', 'available'],
  },
  STOCK_LIMIT_EXCEEDED: INVENTORY_ERROR_DETAILS.STOCK_LIMIT_EXCEEDED,
  STATS_LIMIT_EXCEEDED: { properties: { userId: id }, required: ['userId'] },
  RESERVATION_NOT_FOUND: INVENTORY_ERROR_DETAILS.RESERVATION_NOT_FOUND,
  RESERVATION_PRODUCT_MISMATCH: INVENTORY_ERROR_DETAILS.RESERVATION_PRODUCT_MISMATCH,
  RESERVATION_RELEASED: INVENTORY_ERROR_DETAILS.RESERVATION_RELEASED,
  RESERVATION_CONSUMED: INVENTORY_ERROR_DETAILS.RESERVATION_CONSUMED,
  RESERVATION_EXPIRED: INVENTORY_ERROR_DETAILS.RESERVATION_EXPIRED,
  RESERVATION_QUANTITY_MISMATCH: {
    properties: { index: INDEX_DETAIL, reservationId: id, requested: { ...units, minimum: 1 }, reserved: { ...units, minimum: 1 } },
    required: ['index', 'reservationId', 'requested', 'reserved'],
  },
};
