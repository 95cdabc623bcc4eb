import { ID_PATTERN } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';
import { MAX_LOW_STOCK_PAGE, MAX_STOCK } from '../inventory-rules';

const id = { type: 'string', pattern: ID_PATTERN.source };
const units = (minimum: number) => ({ type: 'integer', minimum, maximum: MAX_STOCK });

/** The success bodies of the Inventory routes (documentation only). */
export class StockLevelResponse {
  @ApiField({ type: 'string', pattern: ID_PATTERN.source }) productId!: string;
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX_STOCK }) stock!: number;
}

@ApiModels(StockLevelResponse)
export class LowStockResponse {
  @ApiField({ type: 'array', items: schemaRef(StockLevelResponse), maxItems: MAX_LOW_STOCK_PAGE, description: 'Lowest stock first, ties by product id' })
  products!: StockLevelResponse[];
}

/** A stock reservation (see Inventory.reserve): `held` → `released` | `consumed` | `expired`, once. */
export class ReservationResponse {
  @ApiField({ ...id, description: 'Generated: 32 hex digits, derived from the Idempotency-Key when there is one' }) id!: string;
  @ApiField(id) productId!: string;
  @ApiField({ ...units(1), description: 'Units held (or once held)' }) quantity!: number;
  @ApiField({ type: 'string', enum: ['held', 'released', 'consumed', 'expired'], description: 'A held one past `expiresAt` shows `expired`' })
  status!: string;
  @ApiField({ type: 'string', format: 'date-time', description: 'Server time' }) createdAt!: string;
  @ApiField({ type: 'string', format: 'date-time', description: 'Server time: `createdAt` + `ttlSeconds`' }) expiresAt!: string;
  @ApiField({ ...id, required: false, description: 'The order that consumed it (once `consumed`)' }) orderId?: string;
}

/** A product's available (for sale: its `stock`) and held units; on hand = available + held. */
export class AvailabilityResponse {
  @ApiField(id) productId!: string;
  @ApiField({ ...units(0), description: 'Units for sale: the product\'s `stock`' }) available!: number;
  @ApiField({ ...units(0), description: 'Units held by live reservations (including lapsed ones not yet swept)' }) held!: number;
}
