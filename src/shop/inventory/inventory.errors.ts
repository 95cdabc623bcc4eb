import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import type { InventoryErrorCode } from './inventory.port';

/** HTTP statuses of the Inventory codes (the kernel's codes are mapped by the kernel). */
export const INVENTORY_ERROR_STATUS: ErrorStatuses & Record<InventoryErrorCode, number> = {
  PRODUCT_NOT_FOUND: 404,
  STOCK_LIMIT_EXCEEDED: 422,
};

const productId = { type: 'string', pattern: ID_PATTERN.source };
const units = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };

/** What each Inventory code carries besides its message (the API documentation; lua/inventory.lua, inventory-rules.ts). */
export const INVENTORY_ERROR_DETAILS: Record<InventoryErrorCode, ErrorDetailsDoc> = {
  PRODUCT_NOT_FOUND: { properties: { productId, index: INDEX_DETAIL }, required: ['productId'] },
  STOCK_LIMIT_EXCEEDED: {
    properties: { productId, stock: { ...units, description: 'The stock now' }, quantity: { ...units, description: 'What would be added' } },
    required: ['productId', 'stock', 'quantity'],
  },
};
