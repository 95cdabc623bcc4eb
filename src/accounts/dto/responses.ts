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
}

@ApiModels(TransferReceiptResponse)
export class TransferBatchResponse {
  @ApiField({ type: 'array', items: schemaRef(TransferReceiptResponse), minItems: 1, description: 'One receipt per item, in order' })
  transfers!: TransferReceiptResponse[];
}

export class HistoryEntryResponse {
  @ApiField({ type: 'string', format: 'uuid', description: 'The transfer id, or the id of the deposit/withdrawal' }) transferId!: string;
  @ApiField({ type: 'string', enum: ['transfer_out', 'transfer_in', 'deposit', 'withdrawal'] }) type!: string;
  @ApiField({ ...minorUnits(), description: 'Signed: negative when money left the account' }) amount!: number;
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
