import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { ApiField, ApiModels, AtomicId, MinorUnits, Optional, schemaRef } from '@kernel/nest/http';
import { MAX_LINES } from '../order-rules';

export class OrderLineDto {
  @AtomicId()
  @ApiField({ example: 'widget' })
  productId!: string;

  /** Integer units. */
  @MinorUnits(1)
  @ApiField({ example: 2 })
  quantity!: number;

  @MinorUnits(0)
  @ApiField({ example: 1250 })
  unitPrice!: number;

  /** A held reservation of this product and exactly this quantity: the line takes its units (each reservation once). */
  @Optional()
  @AtomicId()
  @ApiField({ example: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' })
  reservationId?: string;
}

/** Repeated products and a total past the safe-integer range are refused by the port (400 too). */
@ApiModels(OrderLineDto)
export class PlaceOrderDto {
  /** Generated when absent (derived from the Idempotency-Key when there is one). */
  @Optional()
  @AtomicId()
  @ApiField({ example: 'order-1' })
  id?: string;

  @AtomicId()
  @ApiField({ example: 'user-1' })
  userId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_LINES)
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  @ApiField({ type: 'array', items: schemaRef(OrderLineDto), minItems: 1, maxItems: MAX_LINES, description: 'Each product at most once' })
  items!: OrderLineDto[];
}
