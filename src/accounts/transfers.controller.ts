import { Controller, Get, Headers, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ShardParam, ApiIdParam, AtomicBody, AtomicHttp, Replay, ReplayHeader } from '@kernel/nest/http';
import { LEDGER_PARAM } from './accounts.controller';
import { ACCOUNTS_ERROR_DETAILS, ACCOUNTS_ERROR_STATUS } from './accounts.errors';
import { ACCOUNTS_LEDGERS, Ledgers } from './accounts.tokens';
import { PendingTransferResponse, TransferBatchResponse, TransferReceiptResponse } from './dto/responses';
import { PostTransferDto, TransferBatchDto, TransferDto } from './dto/transfer.dto';

const statuses = ACCOUNTS_ERROR_STATUS;
const details = ACCOUNTS_ERROR_DETAILS;

@ApiGroup('transfers')
@AtomicHttp(ACCOUNTS_ERROR_STATUS)
@Controller('transfers')
export class TransfersController {
  constructor(@Inject(ACCOUNTS_LEDGERS) private readonly ledgers: Ledgers) {}

  @Post()
  @ApiAtomicRoute({
    summary: 'Transfer between two accounts', body: TransferDto,
    description: 'One atomic step: the source\'s `available` (balance − pending debits) stays at or above max(its floor, `minBalance`); ' +
      'one history entry per account. With `pending: true` and `timeoutSeconds` it reserves instead (a two-phase transfer): ' +
      'balances stay, the receipt says `status: \'pending\'` and `expiresAt`, and the reservation is later posted, voided or ' +
      'expires (`/transfers/{id}/post`, `/transfers/{id}/void`). `BALANCE_LIMIT_EXCEEDED` when the target\'s balance plus ' +
      'pending credits would pass 2^53 − 1.',
    responses: [{ status: 201, type: TransferReceiptResponse, description: 'Transferred (or, pending, reserved)' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'BALANCE_LIMIT_EXCEEDED'], write: true,
  })
  async transfer(@ShardParam('ledger') ledger: string | undefined, @AtomicBody() body: TransferDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).transfer(body, { idempotencyKey }));
  }

  @Post('batch')
  @ApiAtomicRoute({
    summary: 'Transfers, all or nothing, in order', body: TransferBatchDto,
    description: 'Later items see earlier ones; a failure names the failing item\'s `index` and nothing is written. Items may be ' +
      'pending (`pending: true` with `timeoutSeconds`): their receipts say `status: \'pending\'` and `expiresAt`.',
    responses: [{ status: 201, type: TransferBatchResponse, description: 'Every transfer applied' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'INSUFFICIENT_FUNDS', 'BALANCE_LIMIT_EXCEEDED'], write: true,
  })
  async batch(@ShardParam('ledger') ledger: string | undefined, @AtomicBody() { transfers }: TransferBatchDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    const receipts = replay(await this.ledgers.shard(ledger).transferBatch(transfers, { idempotencyKey }));
    return { transfers: receipts };
  }

  /** A pending (two-phase) transfer's state. */
  @Get(':id')
  @ApiIdParam('id', 'The pending transfer (its receipt\'s `id`)')
  @ApiAtomicRoute({
    summary: 'A pending (two-phase) transfer',
    description: 'One past its `expiresAt` shows `expired`, whether the sweeper has released it yet or not. ' +
      '`PENDING_TRANSFER_NOT_FOUND` for an unknown id (a plain transfer\'s included).',
    responses: [{ status: 200, type: PendingTransferResponse, description: 'The pending transfer' }],
    statuses, details, codes: ['PENDING_TRANSFER_NOT_FOUND'],
  })
  get(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string) {
    return this.ledgers.shard(ledger).getTransfer(id);
  }

  @Post(':id/post')
  @HttpCode(200)
  @ApiIdParam('id', 'The pending transfer (its receipt\'s `id`)')
  @ApiAtomicRoute({
    summary: 'Post a pending transfer: move the reserved amount, or part of it', body: PostTransferDto,
    description: 'One atomic step: `amount` (default all of it) moves from the source to the target and the whole reservation ' +
      'is released. Only a `pending` transfer before its `expiresAt` can be posted: one already posted, voided or expired is ' +
      'refused with its code. `PENDING_TRANSFER_AMOUNT_EXCEEDED` when `amount` is above the reserved amount (`pending`).',
    responses: [{ status: 200, type: PendingTransferResponse, description: 'Posted: `status: \'posted\'`, `postedAmount`' }],
    statuses, details, write: true,
    codes: ['PENDING_TRANSFER_NOT_FOUND', 'PENDING_TRANSFER_ALREADY_POSTED', 'PENDING_TRANSFER_ALREADY_VOIDED', 'PENDING_TRANSFER_EXPIRED',
      'PENDING_TRANSFER_AMOUNT_EXCEEDED'],
  })
  async post(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string, @AtomicBody() { amount }: PostTransferDto, @Replay() replay: ReplayHeader,
    @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).postTransfer({ id, amount }, { idempotencyKey }));
  }

  /** No body fields (a body, if sent, is ignored). */
  @Post(':id/void')
  @HttpCode(200)
  @ApiIdParam('id', 'The pending transfer (its receipt\'s `id`)')
  @ApiAtomicRoute({
    summary: 'Void a pending transfer: release the whole reservation, move nothing',
    description: 'No body. Only a `pending` transfer before its `expiresAt` can be voided: one already posted, voided or expired ' +
      'is refused with its code.',
    responses: [{ status: 200, type: PendingTransferResponse, description: 'Voided: `status: \'voided\'`' }],
    statuses, details, write: true,
    codes: ['PENDING_TRANSFER_NOT_FOUND', 'PENDING_TRANSFER_ALREADY_POSTED', 'PENDING_TRANSFER_ALREADY_VOIDED', 'PENDING_TRANSFER_EXPIRED'],
  })
  async void(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).voidTransfer({ id }, { idempotencyKey }));
  }
}

/** The same routes for any ledger: `/ledgers/:ledger/transfers/…` (the plain ones serve the default ledger). */
@Controller('ledgers/:ledger/transfers')
export class LedgerTransfersController extends TransfersController {}
