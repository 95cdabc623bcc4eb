import type { ErrorStatuses } from '@kernel/nest/http';
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
};
