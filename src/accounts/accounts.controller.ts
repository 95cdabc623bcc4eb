import { Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { AtomicBody, AtomicHttp } from '@kernel/nest/http';
import { ACCOUNTS_ERROR_STATUS } from './accounts.errors';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { AmountDto } from './dto/amount.dto';
import { OpenAccountDto } from './dto/open-account.dto';

/**
 * Ids in paths and the Idempotency-Key header are checked by the port (ValidatedLedger): a bad one is a 400
 * before Redis is asked.
 */
@AtomicHttp(ACCOUNTS_ERROR_STATUS)
@Controller('accounts')
export class AccountsController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  open(@AtomicBody() body: OpenAccountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.open(body, { idempotencyKey });
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.ledger.get(id);
  }

  @Post(':id/deposit')
  @HttpCode(200)
  deposit(@Param('id') id: string, @AtomicBody() { amount }: AmountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.deposit({ id, amount }, { idempotencyKey });
  }

  @Post(':id/withdraw')
  @HttpCode(200)
  withdraw(@Param('id') id: string, @AtomicBody() { amount }: AmountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.withdraw({ id, amount }, { idempotencyKey });
  }

  @Get(':id/history')
  history(@Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.ledger.history(id, { limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN, cursor });
  }
}
