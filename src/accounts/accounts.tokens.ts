import { Inject } from '@nestjs/common';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { ACCOUNTS_LEDGER } from './accounts.port';

/** The token of a named ledger (`AccountsModule.forRoot({ name })`); no name = ACCOUNTS_LEDGER. */
export const getLedgerToken = instanceTokens(ACCOUNTS_LEDGER, 'AccountsLedger');

/** `@InjectLedger()` or `@InjectLedger('payroll')`: the AccountsLedger port of that instance. */
export const InjectLedger = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLedgerToken(name));
