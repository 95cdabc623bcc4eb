import type { ErrorStatuses } from '@kernel/nest/http';
import type { InventoryErrorCode } from './inventory.port';

/** HTTP statuses of the Inventory codes (the kernel's codes are mapped by the kernel). */
export const INVENTORY_ERROR_STATUS: ErrorStatuses & Record<InventoryErrorCode, number> = {
  PRODUCT_NOT_FOUND: 404,
  STOCK_LIMIT_EXCEEDED: 422,
};
