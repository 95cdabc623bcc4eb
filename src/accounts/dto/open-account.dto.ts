import { Matches } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { MinorUnits, Optional } from '@kernel/nest/http';

export class OpenAccountDto {
  @Matches(ID_PATTERN)
  id!: string;

  @Optional()
  @MinorUnits(0)
  balance?: number;

  @Optional()
  @MinorUnits()
  minBalance?: number;
}
