import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, IsBoolean, IsInt, Matches, Max, Min, ValidateNested } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { MinorUnits, Optional } from '@kernel/nest/http';
import { MAX_TIMEOUT_SECONDS } from '../ledger-rules';

export class TransferDto {
  @Matches(ID_PATTERN)
  from!: string;

  @Matches(ID_PATTERN)
  to!: string;

  @MinorUnits(1)
  amount!: number;

  @Optional()
  @MinorUnits()
  minBalance?: number;

  /** Reserve instead of moving (a two-phase transfer); needs timeoutSeconds (the port checks the pair). */
  @Optional()
  @IsBoolean()
  pending?: boolean;

  @Optional()
  @IsInt()
  @Min(1)
  @Max(MAX_TIMEOUT_SECONDS)
  timeoutSeconds?: number;
}

/** POST /transfers/:id/post — `amount` defaults to all of the reservation; the rest is released. */
export class PostTransferDto {
  @Optional()
  @MinorUnits(1)
  amount?: number;
}

/** The size limit is the module's `maxBatch`, checked by the port. */
export class TransferBatchDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => TransferDto)
  transfers!: TransferDto[];
}
