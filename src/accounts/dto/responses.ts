import { ID_PATTERN } from '@kernel/core';
import { ApiField, ApiModels, schemaRef } from '@kernel/nest/http';

/** The success bodies of the Accounts routes (documentation only: the port's results are sent as they are). */

const MAX = Number.MAX_SAFE_INTEGER;
const id = { type: 'string', pattern: ID_PATTERN.source };
const minorUnits = (minimum = -MAX) => ({ type: 'integer', minimum, maximum: MAX });
const time = { type: 'string', format: 'date-time', description: 'Server time (ISO 8601)' };

export class AccountResponse {
  @ApiField(id) id!: string;
  @ApiField(minorUnits()) balance!: number;
  @ApiField({ ...minorUnits(), description: 'The floor: the balance never goes below it (negative = overdraft limit)' }) minBalance!: number;
  @ApiField({ ...minorUnits(0), description: 'Reserved by open pending transfers from this account (not yet posted or released)' })
  pendingDebits!: number;
  @ApiField({ ...minorUnits(0), description: 'Reserved by open pending transfers to this account (not spendable)' })
  pendingCredits!: number;
  @ApiField({ ...minorUnits(), description: '`balance` − `pendingDebits`: what a withdrawal or a new transfer may spend down to the floor' })
  available!: number;
}

export class BalanceResponse {
  @ApiField(id) id!: string;
  @ApiField(minorUnits()) balance!: number;
}

@ApiModels(BalanceResponse)
export class TransferReceiptResponse {
  @ApiField({ type: 'string', format: 'uuid', description: 'The transfer id, also on both history entries' }) id!: string;
  @ApiField({ allOf: [schemaRef(BalanceResponse)], description: 'The source after the debit' }) from!: BalanceResponse;
  @ApiField({ allOf: [schemaRef(BalanceResponse)], description: 'The target after the credit' }) to!: BalanceResponse;
  @ApiField(minorUnits(1)) amount!: number;
  @ApiField(time) at!: string;
  @ApiField({ type: 'string', enum: ['pending'], required: false,
    description: 'A pending (two-phase) transfer only: reserved, not moved — the balances above are unchanged' })
  status?: 'pending';
  @ApiField({ ...time, required: false, description: 'A pending transfer only: when the reservation expires (server time: `at` + `timeoutSeconds`)' })
  expiresAt?: string;
}

@ApiModels(TransferReceiptResponse)
export class TransferBatchResponse {
  @ApiField({ type: 'array', items: schemaRef(TransferReceiptResponse), minItems: 1, description: 'One receipt per item, in order' })
  transfers!: TransferReceiptResponse[];
}

/** A two-phase transfer (see AccountsLedger.postTransfer): `pending` → `posted` | `voided` | `expired`, once. */
export class PendingTransferResponse {
  @ApiField({ type: 'string', format: 'uuid', description: 'The transfer id (the receipt\'s `id`)' }) id!: string;
  @ApiField({ ...id, description: 'The source account' }) from!: string;
  @ApiField({ ...id, description: 'The target account' }) to!: string;
  @ApiField({ ...minorUnits(1), description: 'The reserved amount' }) amount!: number;
  @ApiField({ type: 'string', enum: ['pending', 'posted', 'voided', 'expired'],
    description: '`expired` from `expiresAt` on, whether the sweeper has released the reservation yet or not' })
  status!: string;
  @ApiField({ ...minorUnits(1), required: false, description: 'Once `posted`: the amount moved (at most `amount`; the rest was released)' })
  postedAmount?: number;
  @ApiField({ ...time, description: 'Server time of the reservation' }) createdAt!: string;
  @ApiField({ ...time, description: 'Server time: `createdAt` + `timeoutSeconds`' }) expiresAt!: string;
  @ApiField({ ...time, required: false, description: 'When it was posted, voided or released as expired (absent while open)' })
  resolvedAt?: string;
}

export class HistoryEntryResponse {
  @ApiField({ type: 'string', format: 'uuid', description: 'The transfer id, or the id of the deposit/withdrawal' }) transferId!: string;
  @ApiField({
    type: 'string',
    enum: ['transfer_out', 'transfer_in', 'deposit', 'withdrawal', 'pending_out', 'pending_in', 'post_out', 'post_in', 'void_out', 'void_in',
      'expire_out', 'expire_in'],
    description: 'A two-phase transfer adds `pending_*` (reserved), then `post_*` (moved) or `void_*` / `expire_*` (released); ' +
      'only `transfer_*`, `deposit`, `withdrawal` and `post_*` change the balance',
  })
  type!: string;
  @ApiField({ ...minorUnits(), description: 'Signed: negative when money left the account (for the reservation kinds: the reserved amount, ' +
    'signed as the transfer when reserved and reversed when released)' }) amount!: number;
  @ApiField({ ...id, nullable: true, description: 'The other account of a transfer; null for deposits and withdrawals' }) counterparty!: string | null;
  @ApiField({ ...minorUnits(), description: 'The balance right after this entry' }) balance!: number;
  @ApiField(time) at!: string;
}

@ApiModels(HistoryEntryResponse)
export class HistoryPageResponse {
  @ApiField({ type: 'array', items: schemaRef(HistoryEntryResponse), description: 'Newest first' }) entries!: HistoryEntryResponse[];
  @ApiField({ type: 'string', pattern: '^[A-Za-z0-9_-]{1,300}$', nullable: true, description: 'The `cursor` of the next page; null on the last' })
  next!: string | null;
}
