import { assertId, AtomicError, validationFailed } from '@kernel/core';
import type {
  Account, AccountsErrorCode, HistoryQuery, Movement, OpenAccount, PendingStatus, PendingTransfer, PostPending, Transfer,
} from './accounts.port';
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
  transfer: (cmd: Transfer) => ['transfer', ...item(cmd)],
  batch: (cmds: readonly Transfer[]) => ['batch', ...cmds.map(item)],
  post: (cmd: PostPending) => ['post', cmd.id, cmd.amount ?? null],
  void: (id: string) => ['void', id],
};

/** A transfer as fingerprinted (a pending one adds its timeout, so plain transfers keep their old fingerprints). */
function item(c: Transfer): unknown[] {
  const plain = [c.from, c.to, c.amount, c.minBalance ?? null];
  return c.pending ? [...plain, 'pending', c.timeoutSeconds] : plain;
}

/** The longest reservation: TigerBeetle's u32 seconds. */
export const MAX_TIMEOUT_SECONDS = 4_294_967_295;
const MAX_SWEEP = 1000;

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
  if (cmd.pending !== undefined && typeof cmd.pending !== 'boolean') {
    throw validationFailed(`${where}pending must be a boolean`, { field: `${where}pending`, index });
  }
  if (cmd.pending) {
    const t = cmd.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 1 || t > MAX_TIMEOUT_SECONDS) {
      throw validationFailed(`${where}timeoutSeconds must be an integer from 1 to ${MAX_TIMEOUT_SECONDS} with pending`,
        { field: `${where}timeoutSeconds`, index });
    }
  } else if (cmd.timeoutSeconds !== undefined) {
    throw validationFailed(`${where}timeoutSeconds needs pending: true`, { field: `${where}timeoutSeconds`, index });
  }
}

export function checkPost(cmd: PostPending): void {
  assertId(cmd?.id, 'id');
  if (cmd.amount !== undefined) assertAmount(cmd.amount, 'amount', { positive: true });
}

export function checkSweepLimit(limit: number | undefined): number {
  const value = limit ?? 100;
  if (!Number.isInteger(value) || value < 1 || value > MAX_SWEEP) {
    throw validationFailed(`limit must be an integer from 1 to ${MAX_SWEEP}`, { field: 'limit' });
  }
  return value;
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
export type AccountState = Pick<Account, 'balance' | 'minBalance' | 'pendingDebits' | 'pendingCredits'> | null;

/** An account's changing part. */
export interface Position {
  balance: number;
  pendingDebits: number;
  pendingCredits: number;
}

/** The port's view of a stored account. */
export const accountView = (id: string, a: NonNullable<AccountState>): Account => ({
  id, balance: a.balance, minBalance: a.minBalance, pendingDebits: a.pendingDebits, pendingCredits: a.pendingCredits,
  available: a.balance - a.pendingDebits,
});

/**
 * Applies transfers in order to a copy of the accounts, checking every rule, and returns the posted balances after
 * each item (source, target) plus the final positions. A pending item reserves: the source's pendingDebits and
 * the target's pendingCredits grow, balances do not. The source keeps available (balance − pendingDebits) ≥ the
 * floor; the target keeps balance + pendingCredits ≤ 2^53 − 1. Throws the first failure — with `index` for a
 * batch — and then nothing must be written. Messages and details match lua/accounts.lua.
 */
export function planTransfers(accounts: ReadonlyMap<string, AccountState>, cmds: readonly Transfer[], batch: boolean):
  { after: [number, number][]; positions: Map<string, Position> } {
  const positions = new Map<string, Position>();
  for (const [id, state] of accounts) {
    if (state) positions.set(id, { balance: state.balance, pendingDebits: state.pendingDebits, pendingCredits: state.pendingCredits });
  }
  const after: [number, number][] = [];
  cmds.forEach((cmd, index) => {
    const at = batch ? { index } : {};
    const source = accounts.get(cmd.from);
    if (!source) throw accountsError('ACCOUNT_NOT_FOUND', 'source account not found', { ...at, account: cmd.from });
    const target = accounts.get(cmd.to);
    if (!target) throw accountsError('ACCOUNT_NOT_FOUND', 'target account not found', { ...at, account: cmd.to });
    const floor = Math.max(source.minBalance, cmd.minBalance ?? -Infinity);
    const s = positions.get(cmd.from)!;
    const t = positions.get(cmd.to)!;
    const available = s.balance - s.pendingDebits;
    if (available - cmd.amount < floor) {
      throw accountsError('INSUFFICIENT_FUNDS', 'balance would fall below the floor',
        { ...at, account: cmd.from, balance: s.balance, available, floor });
    }
    if (t.balance + t.pendingCredits + cmd.amount > Number.MAX_SAFE_INTEGER ||
      (cmd.pending && t.pendingCredits + cmd.amount > Number.MAX_SAFE_INTEGER)) {
      throw accountsError('BALANCE_LIMIT_EXCEEDED', 'balance would exceed the largest safe integer', { ...at, account: cmd.to });
    }
    if (cmd.pending && s.pendingDebits + cmd.amount > Number.MAX_SAFE_INTEGER) {
      throw accountsError('BALANCE_LIMIT_EXCEEDED', 'pending debits would exceed the largest safe integer', { ...at, account: cmd.from });
    }
    if (cmd.pending) {
      s.pendingDebits += cmd.amount;
      t.pendingCredits += cmd.amount;
    } else {
      s.balance -= cmd.amount;
      t.balance += cmd.amount;
    }
    after.push([s.balance, t.balance]);
  });
  return { after, positions };
}

/** The balance after a deposit or withdrawal (`delta` signed), or the failure; matches lua/accounts.lua. */
export function planMovement(state: AccountState, delta: number): number {
  if (!state) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
  const balance = state.balance + delta;
  if (delta > 0 && balance + state.pendingCredits > Number.MAX_SAFE_INTEGER) {
    throw accountsError('BALANCE_LIMIT_EXCEEDED', 'balance would exceed the largest safe integer');
  }
  const available = state.balance - state.pendingDebits;
  if (delta < 0 && available + delta < state.minBalance) {
    throw accountsError('INSUFFICIENT_FUNDS', 'balance would fall below the account floor',
      { balance: state.balance, available, floor: state.minBalance });
  }
  return balance;
}

/** A pending transfer as stored (lua/include/accounts-pending.lua's hash, the same fields in every adapter). */
export interface PendingRecord {
  from: string;
  to: string;
  amount: number;
  /** Stored state: `pending` until posted, voided or released as expired. */
  state: PendingStatus;
  createdMs: number;
  deadlineMs: number;
  resolvedMs?: number;
  postedAmount?: number;
}

export type Resolution = 'post' | 'void' | 'expire';

/**
 * What resolving a pending transfer does at server time `now`: the amount to post (0 for void and expire), or
 * null when an expiry has nothing to do (already resolved, not yet due, gone). Throws the refusal otherwise;
 * matches lua/include/accounts-pending.lua.
 */
export function planResolve(record: PendingRecord | null, mode: Resolution, now: number, amount?: number): number | null {
  if (mode === 'expire') return record && record.state === 'pending' && now >= record.deadlineMs ? 0 : null;
  if (!record) throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found');
  if (record.state === 'posted') throw accountsError('PENDING_TRANSFER_ALREADY_POSTED', 'pending transfer already posted');
  if (record.state === 'voided') throw accountsError('PENDING_TRANSFER_ALREADY_VOIDED', 'pending transfer already voided');
  if (record.state === 'expired' || now >= record.deadlineMs) {
    throw accountsError('PENDING_TRANSFER_EXPIRED', 'pending transfer expired');
  }
  if (mode === 'void') return 0;
  const posted = amount ?? record.amount;
  if (posted > record.amount) {
    throw accountsError('PENDING_TRANSFER_AMOUNT_EXCEEDED', 'amount exceeds the pending amount', { pending: record.amount });
  }
  return posted;
}

/** The port's view: a stored `pending` past its deadline is reported `expired` (released or not yet). */
/** listPending's filter: still holding its reservation (an expired one not yet released included). */
export const stillOpen = (view: PendingTransfer | null): view is PendingTransfer =>
  view !== null && view.resolvedAt === undefined && (view.status === 'pending' || view.status === 'expired');

export function pendingView(id: string, r: PendingRecord, now: number): PendingTransfer {
  const status: PendingStatus = r.state === 'pending' && now >= r.deadlineMs ? 'expired' : r.state;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id, from: r.from, to: r.to, amount: r.amount, status,
    ...(r.postedAmount !== undefined && { postedAmount: r.postedAmount }),
    createdAt: iso(r.createdMs), expiresAt: iso(r.deadlineMs),
    ...(r.resolvedMs !== undefined && { resolvedAt: iso(r.resolvedMs) }),
  };
}
