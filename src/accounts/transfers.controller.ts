import { Body, Controller, Inject, Post } from '@nestjs/common';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { TransferBatchDto, TransferDto } from './dto/transfer.dto';

@Controller('transfers')
export class TransfersController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  transfer(@Body() body: TransferDto) {
    return this.ledger.transfer(body);
  }

  @Post('batch')
  async batch(@Body() { transfers }: TransferBatchDto) {
    return { transfers: await this.ledger.transferBatch(transfers) };
  }
}
