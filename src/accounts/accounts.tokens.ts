import { Inject, InjectionToken } from '@nestjs/common';
import { ACCOUNTS_LEDGER } from './accounts.port';

/** The token of a named ledger (`AccountsModule.forRoot({ name })`); no name = ACCOUNTS_LEDGER. */
export const getLedgerToken = (name?: string): InjectionToken =>
  name === undefined ? ACCOUNTS_LEDGER : `redis-atomic:AccountsLedger:${name}`;

/** `@InjectLedger()` or `@InjectLedger('payroll')`: the AccountsLedger port of that instance. */
export const InjectLedger = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLedgerToken(name));
