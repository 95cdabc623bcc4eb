import { ApiField, MinorUnits } from '@kernel/nest/http';

/** Stock and quantities are integer units within the safe-integer range: the same rule as amounts. */
export class SetStockDto {
  @MinorUnits(0)
  @ApiField({ example: 100 })
  stock!: number;
}

export class RestockDto {
  /** > 0; the stock must stay within the safe-integer range (STOCK_LIMIT_EXCEEDED). */
  @MinorUnits(1)
  @ApiField({ example: 10 })
  quantity!: number;
}
