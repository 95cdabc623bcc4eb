import type { ErrorStatuses } from '@kernel/nest/http';
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
