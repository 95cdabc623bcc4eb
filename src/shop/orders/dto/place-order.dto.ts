import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, Matches, ValidateNested } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { MinorUnits, Optional } from '@kernel/nest/http';
import { MAX_LINES } from '../order-rules';

export class OrderLineDto {
  @Matches(ID_PATTERN)
  productId!: string;

  /** Integer units. */
  @MinorUnits(1)
  quantity!: number;

  @MinorUnits(0)
  unitPrice!: number;

  /** A held reservation of this product and exactly this quantity: the line takes its units (each reservation once). */
  @Optional()
  @Matches(ID_PATTERN)
  reservationId?: string;
}

/** Repeated products and a total past the safe-integer range are refused by the port (400 too). */
export class PlaceOrderDto {
  @Optional()
  @Matches(ID_PATTERN)
  id?: string;

  @Matches(ID_PATTERN)
  userId!: string;

  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_LINES)
  @ValidateNested({ each: true })
  @Type(() => OrderLineDto)
  items!: OrderLineDto[];
}
