import { Type } from 'class-transformer';
import { ArrayMinSize, IsArray, Matches, ValidateNested } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { MinorUnits, Optional } from '@kernel/nest/http';

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
}

/** The size limit is the module's `maxBatch`, checked by the port. */
export class TransferBatchDto {
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => TransferDto)
  transfers!: TransferDto[];
}
