import { Inject } from '@nestjs/common';
import type { ShardDirectory } from '@kernel/core';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';

/** The token of a named ledger (`AccountsModule.forRoot({ name })`); no name = ACCOUNTS_LEDGER. */
export const getLedgerToken = instanceTokens(ACCOUNTS_LEDGER, 'AccountsLedger');

/** `@InjectLedger()` or `@InjectLedger('payroll')`: the AccountsLedger port of that instance (its default ledger). */
export const InjectLedger = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLedgerToken(name));

/** Every ledger of an instance, by name: `ledgers.shard('eu').transfer(…)`. */
export type Ledgers = ShardDirectory<AccountsLedger>;

export const ACCOUNTS_LEDGERS = Symbol('ACCOUNTS_LEDGERS');

/** The token of an instance's Ledgers directory; no name = ACCOUNTS_LEDGERS. */
export const getLedgersToken = instanceTokens(ACCOUNTS_LEDGERS, 'Ledgers');

/** `@InjectLedgers()` or `@InjectLedgers('payroll')`: every ledger of that instance, by name. */
export const InjectLedgers = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getLedgersToken(name));
