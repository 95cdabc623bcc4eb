import { Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ShardParam, ApiIdParam, ApiQueryParam, AtomicBody, AtomicHttp, Replay, ReplayHeader } from '@kernel/nest/http';
import { ACCOUNTS_ERROR_DETAILS, ACCOUNTS_ERROR_STATUS } from './accounts.errors';
import { ACCOUNTS_LEDGERS, Ledgers } from './accounts.tokens';
import { AmountDto } from './dto/amount.dto';
import { OpenAccountDto } from './dto/open-account.dto';
import { AccountResponse, BalanceResponse, HistoryPageResponse } from './dto/responses';
import { MAX_HISTORY_PAGE } from './ledger-rules';

/** The `:ledger` of `/ledgers/:ledger/…`. */
export const LEDGER_PARAM = 'The ledger: a shard of its own (one hash tag: one slot, one master on a cluster)';

const statuses = ACCOUNTS_ERROR_STATUS;
const details = ACCOUNTS_ERROR_DETAILS;

/**
 * Ids in paths and the Idempotency-Key header are checked by the port (ValidatedLedger): a bad one is a 400
 * before Redis is asked.
 */
@ApiGroup('accounts')
@AtomicHttp(ACCOUNTS_ERROR_STATUS)
@Controller('accounts')
export class AccountsController {
  constructor(@Inject(ACCOUNTS_LEDGERS) private readonly ledgers: Ledgers) {}

  @Post()
  @ApiAtomicRoute({
    summary: 'Open an account', body: OpenAccountDto,
    responses: [{ status: 201, type: AccountResponse, description: 'Opened' }],
    statuses, details, codes: ['ACCOUNT_EXISTS'], write: true,
  })
  async open(@ShardParam('ledger') ledger: string | undefined, @AtomicBody() body: OpenAccountDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).open(body, { idempotencyKey }));
  }

  @Get(':id')
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'An account and its balance',
    responses: [{ status: 200, type: AccountResponse, description: 'The account' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND'],
  })
  get(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string) {
    return this.ledgers.shard(ledger).get(id);
  }

  @Post(':id/deposit')
  @HttpCode(200)
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'Deposit into an account', body: AmountDto,
    responses: [{ status: 200, type: BalanceResponse, description: 'The balance after the deposit' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'BALANCE_LIMIT_EXCEEDED'], write: true,
  })
  async deposit(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string, @AtomicBody() { amount }: AmountDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).deposit({ id, amount }, { idempotencyKey }));
  }

  @Post(':id/withdraw')
  @HttpCode(200)
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'Withdraw from an account (never below its floor)', body: AmountDto,
    responses: [{ status: 200, type: BalanceResponse, description: 'The balance after the withdrawal' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND', 'INSUFFICIENT_FUNDS'], write: true,
  })
  async withdraw(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string, @AtomicBody() { amount }: AmountDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.ledgers.shard(ledger).withdraw({ id, amount }, { idempotencyKey }));
  }

  @Get(':id/history')
  @ApiIdParam('id')
  @ApiQueryParam('limit', { type: 'integer', minimum: 1, maximum: MAX_HISTORY_PAGE, default: 50 }, { description: 'Entries per page' })
  @ApiQueryParam('cursor', { type: 'string', pattern: '^[A-Za-z0-9_-]{1,300}$' }, { description: '`next` of the previous page' })
  @ApiAtomicRoute({
    summary: 'An account\'s history, newest first',
    responses: [{ status: 200, type: HistoryPageResponse, description: 'One page' }],
    statuses, details, codes: ['ACCOUNT_NOT_FOUND'],
  })
  history(@ShardParam('ledger') ledger: string | undefined, @Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.ledgers.shard(ledger).history(id, { limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN, cursor });
  }
}

/** The same routes for any ledger: `/ledgers/:ledger/accounts/…` (the plain ones serve the default ledger). */
@Controller('ledgers/:ledger/accounts')
export class LedgerAccountsController extends AccountsController {}
