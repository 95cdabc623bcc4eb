import { IsInt, Max, Min } from 'class-validator';
import { MinorUnits } from '@kernel/nest/http';
import { MAX_RESERVATION_TTL_SECONDS } from '../inventory-rules';

/** Stock and quantities are integer units within the safe-integer range: the same rule as amounts. */
export class SetStockDto {
  @MinorUnits(0)
  stock!: number;
}

export class RestockDto {
  @MinorUnits(1)
  quantity!: number;
}

export class ReserveDto {
  /** Units to hold (> 0). */
  @MinorUnits(1)
  quantity!: number;

  /** How long the units are held, seconds (1 to 604800); the server's clock decides. */
  @IsInt()
  @Min(1)
  @Max(MAX_RESERVATION_TTL_SECONDS)
  ttlSeconds!: number;
}
