import { Matches } from 'class-validator';
import { ID_PATTERN } from '../../../libs/redis-atomic/src';
import { MinorUnits, Optional } from '../../http/validation';

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
