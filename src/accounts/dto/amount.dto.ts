import { MinorUnits } from '@kernel/nest/http';

export class AmountDto {
  @MinorUnits(1)
  amount!: number;
}
