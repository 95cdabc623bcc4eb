import { ID_PATTERN } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';
import { MAX_LINES } from '../order-rules';

/** The success bodies of the Orders routes (documentation only). */
const MAX = Number.MAX_SAFE_INTEGER;
const id = { type: 'string', pattern: ID_PATTERN.source };

export class OrderLineResponse {
  @ApiField(id) productId!: string;
  @ApiField({ type: 'integer', minimum: 1, maximum: MAX }) quantity!: number;
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX }) unitPrice!: number;
}

@ApiModels(OrderLineResponse)
export class OrderResponse {
  @ApiField(id) id!: string;
  @ApiField(id) userId!: string;
  @ApiField({ type: 'array', items: schemaRef(OrderLineResponse), minItems: 1, maxItems: MAX_LINES }) items!: OrderLineResponse[];
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX, description: 'Sum of quantity × unitPrice, minor units' }) total!: number;
  @ApiField({ type: 'string', enum: ['pending', 'processing', 'completed', 'cancelled'] }) status!: string;
  @ApiField({ type: 'string', format: 'date-time', description: 'Server time of placement' }) createdAt!: string;
}

@ApiModels(OrderResponse)
export class UserOrdersResponse {
  @ApiField(id) userId!: string;
  @ApiField({ type: 'array', items: schemaRef(OrderResponse), description: 'Oldest first, cancelled ones included' }) orders!: OrderResponse[];
}

export class UserStatsResponse {
  @ApiField(id) userId!: string;
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX, description: 'Non-cancelled orders' }) totalOrders!: number;
  @ApiField({ type: 'integer', minimum: 0, maximum: MAX, description: 'Sum of their totals, minor units' }) totalSpent!: number;
}
