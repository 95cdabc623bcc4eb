import { Body, Controller, Get, Headers, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { AmountDto } from './dto/amount.dto';
import { OpenAccountDto } from './dto/open-account.dto';

/**
 * Ids in paths and the Idempotency-Key header are checked by the port (ValidatedLedger): a bad one is a 400
 * before Redis is asked.
 */
@Controller('accounts')
export class AccountsController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  open(@Body() body: OpenAccountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.open(body, { idempotencyKey });
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.ledger.get(id);
  }

  @Post(':id/deposit')
  @HttpCode(200)
  deposit(@Param('id') id: string, @Body() { amount }: AmountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.deposit({ id, amount }, { idempotencyKey });
  }

  @Post(':id/withdraw')
  @HttpCode(200)
  withdraw(@Param('id') id: string, @Body() { amount }: AmountDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.ledger.withdraw({ id, amount }, { idempotencyKey });
  }

  @Get(':id/history')
  history(@Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.ledger.history(id, { limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN, cursor });
  }
}
