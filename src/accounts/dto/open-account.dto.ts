import { ApiField, AtomicId, MinorUnits, Optional } from '@kernel/nest/http';

/** `balance` must also be >= `minBalance` (checked by the port: 400). */
export class OpenAccountDto {
  @AtomicId()
  @ApiField({ example: 'alice' })
  id!: string;

  /** Opening balance in minor units, >= 0 and >= minBalance. Default 0. */
  @Optional()
  @MinorUnits(0)
  @ApiField({ example: 10000 })
  balance?: number;

  /** The account's floor: its balance never goes below it (negative = overdraft limit). Default 0. */
  @Optional()
  @MinorUnits()
  @ApiField({ example: 0 })
  minBalance?: number;
}
