import { Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { AtomicBody, AtomicHttp } from '@kernel/nest/http';
import { ACCOUNTS_ERROR_STATUS } from './accounts.errors';
import { isReplayed, markReplayed } from '@kernel/core';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { PostTransferDto, TransferBatchDto, TransferDto } from './dto/transfer.dto';

@AtomicHttp(ACCOUNTS_ERROR_STATUS)
@Controller('transfers')
export class TransfersController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  transfer(@AtomicBody() body: TransferDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.transfer(body, { idempotencyKey });
  }

  @Post('batch')
  async batch(@AtomicBody() { transfers }: TransferBatchDto, @Headers('idempotency-key') idempotencyKey?: string) {
    const receipts = await this.ledger.transferBatch(transfers, { idempotencyKey });
    const body = { transfers: receipts };
    return isReplayed(receipts) ? markReplayed(body) : body;
  }

  /** A pending (two-phase) transfer's state. */
  @Get(':id')
  get(@Param('id') id: string) {
    return this.ledger.getTransfer(id);
  }

  @Post(':id/post')
  @HttpCode(200)
  post(@Param('id') id: string, @AtomicBody() { amount }: PostTransferDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.postTransfer({ id, amount }, { idempotencyKey });
  }

  /** No body fields (a body, if sent, is ignored). */
  @Post(':id/void')
  @HttpCode(200)
  void(@Param('id') id: string, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.voidTransfer({ id }, { idempotencyKey });
  }
}
