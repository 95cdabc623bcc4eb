import { MinorUnits } from '@kernel/nest/http';

/** Stock and quantities are integer units within the safe-integer range: the same rule as amounts. */
export class SetStockDto {
  @MinorUnits(0)
  stock!: number;
}

export class RestockDto {
  @MinorUnits(1)
  quantity!: number;
}
