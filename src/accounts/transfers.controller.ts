import { Body, Controller, Headers, Inject, Post } from '@nestjs/common';
import { isReplayed, markReplayed } from '../../libs/redis-atomic/src';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { TransferBatchDto, TransferDto } from './dto/transfer.dto';

@Controller('transfers')
export class TransfersController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  transfer(@Body() body: TransferDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.transfer(body, { idempotencyKey });
  }

  @Post('batch')
  async batch(@Body() { transfers }: TransferBatchDto, @Headers('idempotency-key') idempotencyKey?: string) {
    const receipts = await this.ledger.transferBatch(transfers, { idempotencyKey });
    const body = { transfers: receipts };
    return isReplayed(receipts) ? markReplayed(body) : body;
  }
}
