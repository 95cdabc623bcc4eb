import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, ValidateNested } from 'class-validator';
import { ApiField, AtomicId, MinorUnits, Optional, schemaRef } from '@kernel/nest/http';

/** `from` and `to` must differ (checked by the port: 400). */
export class TransferDto {
  @AtomicId()
  @ApiField({ example: 'alice' })
  from!: string;

  @AtomicId()
  @ApiField({ example: 'bob' })
  to!: string;

  /** > 0, minor units. */
  @MinorUnits(1)
  @ApiField({ example: 2500 })
  amount!: number;

  /** After the debit the source keeps at least max(its own floor, this). */
  @Optional()
  @MinorUnits()
  @ApiField({ example: 0 })
  minBalance?: number;
}

/**
 * The size limit is the module's `maxBatch` (MAX_BATCH), checked by the port; the service's document states it
 * as `maxItems` (see src/openapi.ts).
 */
export class TransferBatchDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => TransferDto)
  @ApiField({ type: 'array', items: schemaRef(TransferDto), minItems: 1 })
  transfers!: TransferDto[];
}
