import { ApiField, MinorUnits } from '@kernel/nest/http';

export class AmountDto {
  @MinorUnits(1)
  @ApiField({ example: 2500 })
  amount!: number;
}
