import { Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ApiIdParam, AtomicBody, AtomicHttp, Replay, ReplayHeader } from '@kernel/nest/http';
import { ACCOUNTS_ERROR_DETAILS, ACCOUNTS_ERROR_STATUS } from './accounts.errors';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { TransferBatchResponse, TransferReceiptResponse } from './dto/responses';
import { PostTransferDto, TransferBatchDto, TransferDto } from './dto/transfer.dto';

const statuses = ACCOUNTS_ERROR_STATUS;
const details = ACCOUNTS_ERROR_DETAILS;

@ApiGroup('transfers')
@AtomicHttp(ACCOUNTS_ERROR_STATUS)
@Controller('transfers')
export class TransfersController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  @ApiAtomicRoute({
    summary: 'Transfer between two accounts', body: TransferDto,
    description: 'One atomic step: the source stays at or above max(its floor, `minBalance`); one history entry per account.',
    responses: [{ status: 201, type: TransferReceiptResponse, description: 'Transferred' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'BALANCE_LIMIT_EXCEEDED'], write: true,
  })
  async transfer(@AtomicBody() body: TransferDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledger.transfer(body, { idempotencyKey }));
  }

  @Post('batch')
  @ApiAtomicRoute({
    summary: 'Transfers, all or nothing, in order', body: TransferBatchDto,
    description: 'Later items see earlier ones; a failure names the failing item\'s `index` and nothing is written.',
    responses: [{ status: 201, type: TransferBatchResponse, description: 'Every transfer applied' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'BALANCE_LIMIT_EXCEEDED'], write: true,
  })
  async batch(@AtomicBody() { transfers }: TransferBatchDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    const receipts = replay(await this.ledger.transferBatch(transfers, { idempotencyKey }));
    return { transfers: receipts };
  }

  /** A pending (two-phase) transfer's state. */
  @Get(':id')
  get(@Param('id') id: string) {
    return this.ledger.getTransfer(id);
  }

  @Post(':id/post')
  @HttpCode(200)
  async post(@Param('id') id: string, @AtomicBody() { amount }: PostTransferDto, @Replay() replay: ReplayHeader,
    @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledger.postTransfer({ id, amount }, { idempotencyKey }));
  }

  /** No body fields (a body, if sent, is ignored). */
  @Post(':id/void')
  @HttpCode(200)
  async void(@Param('id') id: string, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledger.voidTransfer({ id }, { idempotencyKey }));
  }
}
