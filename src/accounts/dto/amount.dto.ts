import { MinorUnits } from '../../http/validation';

export class AmountDto {
  @MinorUnits(1)
  amount!: number;
}
