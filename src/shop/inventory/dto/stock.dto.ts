import { IsInt, Max, Min } from 'class-validator';
import { ApiField, MinorUnits } from '@kernel/nest/http';
import { MAX_RESERVATION_TTL_SECONDS } from '../inventory-rules';

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

export class ReserveDto {
  /** Units to hold (> 0). */
  @MinorUnits(1)
  @ApiField({ example: 2 })
  quantity!: number;

  /** How long the units are held, seconds (1 to 604800); the server's clock decides. */
  @IsInt()
  @Min(1)
  @Max(MAX_RESERVATION_TTL_SECONDS)
  @ApiField({ type: 'integer', minimum: 1, maximum: MAX_RESERVATION_TTL_SECONDS, example: 900 })
  ttlSeconds!: number;
}
