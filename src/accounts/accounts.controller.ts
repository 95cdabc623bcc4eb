import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { AmountDto } from './dto/amount.dto';
import { OpenAccountDto } from './dto/open-account.dto';

/** Ids in paths are checked by the port (ValidatedLedger): a bad one is a 400 before Redis is asked. */
@Controller('accounts')
export class AccountsController {
  constructor(@Inject(ACCOUNTS_LEDGER) private readonly ledger: AccountsLedger) {}

  @Post()
  open(@Body() body: OpenAccountDto) {
    return this.ledger.open(body);
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.ledger.get(id);
  }

  @Post(':id/deposit')
  @HttpCode(200)
  deposit(@Param('id') id: string, @Body() { amount }: AmountDto) {
    return this.ledger.deposit({ id, amount });
  }

  @Post(':id/withdraw')
  @HttpCode(200)
  withdraw(@Param('id') id: string, @Body() { amount }: AmountDto) {
    return this.ledger.withdraw({ id, amount });
  }

  @Get(':id/history')
  history(@Param('id') id: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    return this.ledger.history(id, { limit: limit === undefined ? undefined : /^\d{1,4}$/.test(limit) ? Number(limit) : NaN, cursor });
  }
}
