import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import type { AccountsErrorCode } from './accounts.port';

/** HTTP statuses of the Accounts codes (the kernel's codes are mapped by the kernel). */
export const ACCOUNTS_ERROR_STATUS: ErrorStatuses & Record<AccountsErrorCode, number> = {
  ACCOUNT_NOT_FOUND: 404,
  ACCOUNT_EXISTS: 409,
  INSUFFICIENT_FUNDS: 422,
  BALANCE_LIMIT_EXCEEDED: 422,
  PENDING_TRANSFER_NOT_FOUND: 404,
  PENDING_TRANSFER_ALREADY_POSTED: 409,
  PENDING_TRANSFER_ALREADY_VOIDED: 409,
  PENDING_TRANSFER_EXPIRED: 409,
  PENDING_TRANSFER_AMOUNT_EXCEEDED: 422,
  TRANSFER_ABORTED: 409,
  CROSS_SHARD_UNSUPPORTED: 422,
};

const account = { type: 'string', pattern: ID_PATTERN.source, description: 'The account concerned (transfers and batches)' };
const minorUnits = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER };

/** What each Accounts code carries besides its message (the API documentation; lua/accounts.lua and ledger-rules.ts). */
export const ACCOUNTS_ERROR_DETAILS: Record<AccountsErrorCode, ErrorDetailsDoc> = {
  ACCOUNT_NOT_FOUND: { properties: { account, index: INDEX_DETAIL } },
  ACCOUNT_EXISTS: {},
  INSUFFICIENT_FUNDS: {
    properties: {
      account, balance: { ...minorUnits, description: 'The balance before' }, floor: { ...minorUnits, description: 'The floor it would fall below' },
      available: { ...minorUnits, description: 'The balance less pending debits, before' }, index: INDEX_DETAIL,
    },
    required: ['balance', 'floor'],
  },
  BALANCE_LIMIT_EXCEEDED: { properties: { account, index: INDEX_DETAIL } },
  PENDING_TRANSFER_NOT_FOUND: {},
  PENDING_TRANSFER_ALREADY_POSTED: {},
  PENDING_TRANSFER_ALREADY_VOIDED: {},
  PENDING_TRANSFER_EXPIRED: {},
  PENDING_TRANSFER_AMOUNT_EXCEEDED: { properties: { pending: { ...minorUnits, minimum: 1, description: 'The amount still pending' } }, required: ['pending'] },
  TRANSFER_ABORTED: { properties: { reason: { type: 'string', description: 'timeout · deadline · voided' }, index: INDEX_DETAIL } },
  CROSS_SHARD_UNSUPPORTED: { properties: { strategy: { type: 'string' } } },
};
