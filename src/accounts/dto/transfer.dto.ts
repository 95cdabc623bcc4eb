import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsBoolean, IsInt, Matches, Max, Min, ValidateNested } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { ApiField, AtomicId, MinorUnits, Optional, schemaRef } from '@kernel/nest/http';
import { MAX_TIMEOUT_SECONDS } from '../ledger-rules';

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

  /** Reserve instead of moving (a two-phase transfer); needs timeoutSeconds (the port checks the pair). */
  @Optional()
  @IsBoolean()
  @ApiField({
    type: 'boolean', example: true,
    description: 'Reserve instead of moving (a two-phase transfer): the receipt says `status: \'pending\'` and `expiresAt`; ' +
      'balances stay, the source\'s `pendingDebits` and the target\'s `pendingCredits` grow. Needs `timeoutSeconds`.',
  })
  pending?: boolean;

  /** With `pending` (required then, refused without it): the reservation expires this long after (server time). */
  @Optional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_SECONDS)
  @ApiField({
    type: 'integer', minimum: 1, maximum: MAX_TIMEOUT_SECONDS, example: 60,
    description: 'With `pending: true` only (required then): seconds until the reservation expires, server time',
  })
  timeoutSeconds?: number;
}

/** POST /transfers/:id/post — `amount` defaults to all of the reservation; the rest is released. */
export class PostTransferDto {
  @Optional()
  @MinorUnits(1)
  @ApiField({ example: 2000, description: 'The amount to move: 1 to the reserved amount (default all of it); the rest is released' })
  amount?: number;
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
