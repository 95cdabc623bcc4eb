import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { ApiField, ApiModels, AtomicId, MinorUnits, Optional, schemaRef } from '@kernel/nest/http';
import { MAX_LINES } from '../order-rules';

export class OrderLineDto {
  @AtomicId()
  productId!: string;

  /** Integer units. */
  @MinorUnits(1)
  quantity!: number;

  @MinorUnits(0)
  unitPrice!: number;
}

/** Repeated products and a total past the safe-integer range are refused by the port (400 too). */
@ApiModels(OrderLineDto)
export class PlaceOrderDto {
  /** Generated when absent (derived from the Idempotency-Key when there is one). */
  @Optional()
  @AtomicId()
  id?: string;

  @AtomicId()
  userId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_LINES)
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  @ApiField({ type: 'array', items: schemaRef(OrderLineDto), minItems: 1, maxItems: MAX_LINES, description: 'Each product at most once' })
  items!: OrderLineDto[];
}
