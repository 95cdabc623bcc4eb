import { assertId, AtomicError, validationFailed } from '@kernel/core';
import type { Account, AccountsErrorCode, HistoryQuery, Movement, OpenAccount, Transfer } from './accounts.port';
import { isCursor } from './history-codec';

/**
 * The ledger's rules in plain TypeScript: input validation (shared by every adapter, so bad input never
 * reaches Redis) and the transfer simulation used by the memory and transactions adapters. lua/accounts.lua
 * implements the same rules server-side; the contract suite keeps them identical.
 */

export const accountsError = (code: AccountsErrorCode, message: string, details: Record<string, unknown> = {}) =>
  new AtomicError(code, message, details);

export interface LedgerLimits {
  maxBatch: number;
  historyLimit: number;
  /** How long idempotency records are kept. */
  idempotencyTtlSeconds: number;
  /** The event log's cap (XADD MAXLEN ~). */
  eventsMaxLen: number;
}

/**
 * The normalized request an idempotency fingerprint is taken of — the same in every adapter, so a record
 * means the same thing whichever strategy wrote it.
 */
export const requestOf = {
  open: (cmd: OpenAccount) => ['open', cmd.id, cmd.balance ?? 0, cmd.minBalance ?? 0],
  deposit: (cmd: Movement) => ['deposit', cmd.id, cmd.amount],
  withdraw: (cmd: Movement) => ['withdraw', cmd.id, cmd.amount],
  transfer: (cmd: Transfer) => ['transfer', cmd.from, cmd.to, cmd.amount, cmd.minBalance ?? null],
  batch: (cmds: readonly Transfer[]) => ['batch', ...cmds.map((c) => [c.from, c.to, c.amount, c.minBalance ?? null])],
};

export const MAX_HISTORY_PAGE = 1000;

function assertAmount(value: unknown, field: string, { positive = false, min = -Number.MAX_SAFE_INTEGER } = {}): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw validationFailed(`${field} must be an integer in minor units within ±${Number.MAX_SAFE_INTEGER}`, { field });
  }
  if (positive ? value <= 0 : value < min) {
    throw validationFailed(`${field} must be ${positive ? '> 0' : `>= ${min}`}`, { field });
  }
}

export function checkOpen(cmd: OpenAccount): Required<OpenAccount> {
  assertId(cmd?.id, 'id');
  const balance = cmd.balance ?? 0;
  const minBalance = cmd.minBalance ?? 0;
  assertAmount(balance, 'balance', { min: 0 });
  assertAmount(minBalance, 'minBalance');
  if (minBalance > balance) throw validationFailed('balance must be >= minBalance', { field: 'balance' });
  return { id: cmd.id, balance, minBalance };
}

export function checkMovement(cmd: Movement): void {
  assertId(cmd?.id, 'id');
  assertAmount(cmd.amount, 'amount', { positive: true });
}

export function checkTransfer(cmd: Transfer, index?: number): void {
  const where = index === undefined ? '' : `transfers[${index}].`;
  assertId(cmd?.from, `${where}from`);
  assertId(cmd.to, `${where}to`);
  if (cmd.from === cmd.to) throw validationFailed('from and to must differ', { field: `${where}to`, index });
  assertAmount(cmd.amount, `${where}amount`, { positive: true });
  if (cmd.minBalance !== undefined) assertAmount(cmd.minBalance, `${where}minBalance`);
}

export function checkBatch(cmds: readonly Transfer[], limits: LedgerLimits): void {
  if (!Array.isArray(cmds) || cmds.length === 0 || cmds.length > limits.maxBatch) {
    throw validationFailed(`transfers must hold 1 to ${limits.maxBatch} items`, { field: 'transfers' });
  }
  cmds.forEach((cmd, index) => checkTransfer(cmd, index));
}

export function checkHistoryQuery(id: string, query: HistoryQuery = {}): Required<Pick<HistoryQuery, 'limit'>> & HistoryQuery {
  assertId(id, 'id');
  const limit = query.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE) {
    throw validationFailed(`limit must be an integer from 1 to ${MAX_HISTORY_PAGE}`, { field: 'limit' });
  }
  if (query.cursor !== undefined && (typeof query.cursor !== 'string' || !isCursor(query.cursor))) {
    throw validationFailed('cursor must be a `next` value from a previous page', { field: 'cursor' });
  }
  return { limit, cursor: query.cursor };
}

/** What the simulation needs of an account: null when it does not exist. */
export type AccountState = Pick<Account, 'balance' | 'minBalance'> | null;

/**
 * Applies transfers in order to a copy of the balances, checking every rule, and returns the balances after
 * each item (source, target) plus the final ones. Throws the first failure — with `index` for a batch — and
 * then nothing must be written. Messages and details match lua/accounts.lua.
 */
export function planTransfers(accounts: ReadonlyMap<string, AccountState>, cmds: readonly Transfer[], batch: boolean):
  { after: [number, number][]; balances: Map<string, number> } {
  const balances = new Map<string, number>();
  for (const [id, state] of accounts) if (state) balances.set(id, state.balance);
  const after: [number, number][] = [];
  cmds.forEach((cmd, index) => {
    const at = batch ? { index } : {};
    const source = accounts.get(cmd.from);
    if (!source) throw accountsError('ACCOUNT_NOT_FOUND', 'source account not found', { ...at, account: cmd.from });
    const target = accounts.get(cmd.to);
    if (!target) throw accountsError('ACCOUNT_NOT_FOUND', 'target account not found', { ...at, account: cmd.to });
    const floor = Math.max(source.minBalance, cmd.minBalance ?? -Infinity);
    const sourceBalance = balances.get(cmd.from)!;
    if (sourceBalance - cmd.amount < floor) {
      throw accountsError('INSUFFICIENT_FUNDS', 'balance would fall below the floor',
        { ...at, account: cmd.from, balance: sourceBalance, floor });
    }
    const targetBalance = balances.get(cmd.to)!;
    if (targetBalance + cmd.amount > Number.MAX_SAFE_INTEGER) {
      throw accountsError('BALANCE_LIMIT_EXCEEDED', 'balance would exceed the largest safe integer', { ...at, account: cmd.to });
    }
    balances.set(cmd.from, sourceBalance - cmd.amount);
    balances.set(cmd.to, targetBalance + cmd.amount);
    after.push([sourceBalance - cmd.amount, targetBalance + cmd.amount]);
  });
  return { after, balances };
}

/** The balance after a deposit or withdrawal (`delta` signed), or the failure; matches lua/accounts.lua. */
export function planMovement(state: AccountState, delta: number): number {
  if (!state) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
  const balance = state.balance + delta;
  if (delta > 0 && balance > Number.MAX_SAFE_INTEGER) {
    throw accountsError('BALANCE_LIMIT_EXCEEDED', 'balance would exceed the largest safe integer');
  }
  if (delta < 0 && balance < state.minBalance) {
    throw accountsError('INSUFFICIENT_FUNDS', 'balance would fall below the account floor',
      { balance: state.balance, floor: state.minBalance });
  }
  return balance;
}
