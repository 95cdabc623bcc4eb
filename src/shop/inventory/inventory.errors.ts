import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import type { InventoryErrorCode } from './inventory.port';

/** HTTP statuses of the Inventory codes (the kernel's codes are mapped by the kernel). */
export const INVENTORY_ERROR_STATUS: ErrorStatuses & Record<InventoryErrorCode, number> = {
  PRODUCT_NOT_FOUND: 404,
  STOCK_LIMIT_EXCEEDED: 422,
  OUT_OF_STOCK: 422,
  RESERVATION_NOT_FOUND: 404,
  RESERVATION_EXISTS: 409,
  RESERVATION_PRODUCT_MISMATCH: 409,
  RESERVATION_RELEASED: 409,
  RESERVATION_CONSUMED: 409,
  RESERVATION_EXPIRED: 409,
};

const productId = { type: 'string', pattern: ID_PATTERN.source };
const units = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
const reservationId = { type: 'string', pattern: ID_PATTERN.source };
/** A reservation that can no longer be released or consumed. */
const ended = (status: string): ErrorDetailsDoc =>
  ({ properties: { reservationId, status: { type: 'string', enum: [status] }, index: INDEX_DETAIL }, required: ['reservationId', 'status'] });

/** What each Inventory code carries besides its message (the API documentation; lua/inventory.lua, inventory-rules.ts). */
export const INVENTORY_ERROR_DETAILS: Record<InventoryErrorCode, ErrorDetailsDoc> = {
  PRODUCT_NOT_FOUND: { properties: { productId, index: INDEX_DETAIL }, required: ['productId'] },
  STOCK_LIMIT_EXCEEDED: {
    properties: { productId, stock: { ...units, description: 'The stock now' }, quantity: { ...units, description: 'What would be added' } },
    required: ['productId', 'stock', 'quantity'],
  },
  OUT_OF_STOCK: {
    properties: { productId, requested: { ...units, minimum: 1 }, available: units, index: INDEX_DETAIL }, required: ['productId', 'requested', 'available'],
  },
  RESERVATION_NOT_FOUND: { properties: { reservationId, index: INDEX_DETAIL }, required: ['reservationId'] },
  RESERVATION_EXISTS: { properties: { reservationId }, required: ['reservationId'] },
  RESERVATION_PRODUCT_MISMATCH: {
    properties: { reservationId, productId, reservedProductId: productId, index: INDEX_DETAIL }, required: ['reservationId', 'productId', 'reservedProductId'],
  },
  RESERVATION_RELEASED: ended('released'),
  RESERVATION_CONSUMED: ended('consumed'),
  RESERVATION_EXPIRED: ended('expired'),
};
