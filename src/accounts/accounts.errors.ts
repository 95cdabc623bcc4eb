import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import type { AccountsErrorCode } from './accounts.port';

/** HTTP statuses of the Accounts codes (the kernel's codes are mapped by the kernel). */
export const ACCOUNTS_ERROR_STATUS: ErrorStatuses & Record<AccountsErrorCode, number> = {
  ACCOUNT_NOT_FOUND: 404,
  ACCOUNT_EXISTS: 409,
  INSUFFICIENT_FUNDS: 422,
  BALANCE_LIMIT_EXCEEDED: 422,
};

const account = { type: 'string', pattern: ID_PATTERN.source, description: 'The account concerned (transfers and batches)' };
const minorUnits = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };

/** What each Accounts code carries besides its message (the API documentation; lua/accounts.lua and ledger-rules.ts). */
export const ACCOUNTS_ERROR_DETAILS: Record<AccountsErrorCode, ErrorDetailsDoc> = {
  ACCOUNT_NOT_FOUND: { properties: { account, index: INDEX_DETAIL } },
  ACCOUNT_EXISTS: {},
  INSUFFICIENT_FUNDS: {
    properties: { account, balance: { ...minorUnits, description: 'The balance before' }, floor: { ...minorUnits, description: 'The floor it would fall below' }, index: INDEX_DETAIL },
    required: ['balance', 'floor'],
  },
  BALANCE_LIMIT_EXCEEDED: { properties: { account, index: INDEX_DETAIL } },
};
