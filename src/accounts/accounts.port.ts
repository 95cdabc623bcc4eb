/**
 * The Accounts ledger: each operation is one atomic unit of work. Amounts and balances are integers in minor
 * units (cents), within ±Number.MAX_SAFE_INTEGER. Failures are `AtomicError`s whose `code` is an
 * AccountsErrorCode or a kernel code (VALIDATION_FAILED, CONFLICT, STORE_UNAVAILABLE, OUTCOME_UNKNOWN).
 */
export const ACCOUNTS_LEDGER = Symbol('ACCOUNTS_LEDGER');

export interface AccountsLedger {
  /** ACCOUNT_EXISTS */
  open(cmd: OpenAccount, options?: WriteOptions): Promise<Account>;
  /** ACCOUNT_NOT_FOUND */
  get(id: string): Promise<Account>;
  /** ACCOUNT_NOT_FOUND, BALANCE_LIMIT_EXCEEDED */
  deposit(cmd: Movement, options?: WriteOptions): Promise<Balance>;
  /** ACCOUNT_NOT_FOUND, INSUFFICIENT_FUNDS (the balance would fall below the account's floor) */
  withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance>;
  /** ACCOUNT_NOT_FOUND, INSUFFICIENT_FUNDS, BALANCE_LIMIT_EXCEEDED; one history entry per account. */
  transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt>;
  /** All or nothing, in order (later items see earlier ones); a failure carries `details.index`. */
  transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]>;
  /** Newest first; `next` is the cursor of the following page, null on the last. ACCOUNT_NOT_FOUND */
  history(id: string, page?: HistoryQuery): Promise<HistoryPage>;
  /**
   * Two-phase transfers (`transfer({ …, pending: true, timeoutSeconds })` reserves): each resolves exactly once.
   * Post moves `amount` (default: all of it; the rest is released). PENDING_TRANSFER_NOT_FOUND,
   * PENDING_TRANSFER_ALREADY_POSTED / _ALREADY_VOIDED / _EXPIRED, PENDING_TRANSFER_AMOUNT_EXCEEDED
   */
  postTransfer(cmd: PostPending, options?: WriteOptions): Promise<PendingTransfer>;
  /** Releases the whole reservation. The same codes as postTransfer (but the amount one). */
  voidTransfer(cmd: VoidPending, options?: WriteOptions): Promise<PendingTransfer>;
  /** A pending transfer's state (past its deadline it is `expired`, released or not yet). PENDING_TRANSFER_NOT_FOUND */
  getTransfer(id: string): Promise<PendingTransfer>;
  /**
   * Releases up to `limit` (1..1000, default 100) pending transfers past their deadline, oldest deadline first.
   * Idempotent and safe to run from every instance at once: a transfer resolved meanwhile is skipped.
   */
  sweepExpired(limit?: number): Promise<SweepResult>;
  /**
   * Open pending transfers — reserved, not yet posted, voided or released — soonest deadline first (ties by id),
   * at most `limit` (1..1000, default 100). One past its deadline that no sweep released yet shows `expired`.
   * A read for operators (the board): each transfer is read atomically, the list is not one snapshot.
   */
  listPending(limit?: number): Promise<PendingTransfer[]>;
}

export type AccountsErrorCode = 'ACCOUNT_NOT_FOUND' | 'ACCOUNT_EXISTS' | 'INSUFFICIENT_FUNDS' | 'BALANCE_LIMIT_EXCEEDED'
  | 'PENDING_TRANSFER_NOT_FOUND' | 'PENDING_TRANSFER_ALREADY_POSTED' | 'PENDING_TRANSFER_ALREADY_VOIDED'
  | 'PENDING_TRANSFER_EXPIRED' | 'PENDING_TRANSFER_AMOUNT_EXCEEDED'
  /** Spread ledgers (cross-shard transfers): aborted before its decision (timeout), or a feature this setup cannot offer. */
  | 'TRANSFER_ABORTED' | 'CROSS_SHARD_UNSUPPORTED';

export interface WriteOptions {
  /**
   * 1–255 printable ASCII. The first outcome under a key — result or business failure — is stored in the same
   * atomic step as the effect and replayed to every retry (the replay is marked: `isReplayed(result)`,
   * `error.replayed`); the same key with a different request fails with IDEMPOTENCY_KEY_MISMATCH.
   */
  idempotencyKey?: string;
}

export interface OpenAccount {
  id: string;
  /** Opening balance, >= 0 and >= minBalance. Default 0. */
  balance?: number;
  /** The account's floor: its balance never goes below it (negative = overdraft limit). Default 0. */
  minBalance?: number;
}

export interface Account {
  id: string;
  /** Posted balance. */
  balance: number;
  minBalance: number;
  /** Reserved by open pending transfers from this account (not yet posted or released). */
  pendingDebits: number;
  /** Reserved by open pending transfers to this account. */
  pendingCredits: number;
  /** balance − pendingDebits: what a withdrawal or a new transfer may spend down to the floor. */
  available: number;
}

export interface Movement {
  id: string;
  /** > 0 */
  amount: number;
}

export interface Balance {
  id: string;
  balance: number;
}

export interface Transfer {
  from: string;
  to: string;
  /** > 0 */
  amount: number;
  /** After the debit the source keeps at least max(its own floor, this) available. */
  minBalance?: number;
  /** Reserve instead of moving: the source's pendingDebits and the target's pendingCredits grow. */
  pending?: boolean;
  /** With `pending` (required then, 1..4294967295): the reservation expires this long after (server time). */
  timeoutSeconds?: number;
}

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface PostPending {
  /** The pending transfer's id. */
  id: string;
  /** 1..the reserved amount; default all of it. The rest is released. */
  amount?: number;
}

export interface VoidPending {
  id: string;
}

export interface PendingTransfer {
  id: string;
  from: string;
  to: string;
  /** The reserved amount. */
  amount: number;
  /** `expired` once past its deadline, even before the sweeper released it. */
  status: PendingStatus;
  /** Posted: the amount moved (≤ amount). */
  postedAmount?: number;
  createdAt: string;
  expiresAt: string;
  /** When it was posted, voided or released as expired. */
  resolvedAt?: string;
}

export interface SweepResult {
  /** The ids released as expired by this call. */
  expired: string[];
}

export interface TransferReceipt {
  /** Transfer id, also on both history entries. */
  id: string;
  from: Balance;
  to: Balance;
  amount: number;
  /** Server time of the transfer (ISO 8601). */
  at: string;
  /** Pending transfers only: balances above are unchanged; the reservation expires then. */
  status?: 'pending';
  expiresAt?: string;
}

/**
 * pending_* (reserved), post_* (moved: the balance changes), void_* / expire_* (released). For the reservation
 * kinds `amount` is the reserved amount, signed as the transfer when reserved and reversed when released, and
 * `balance` (posted) is unchanged.
 */
export type HistoryKind = 'transfer_out' | 'transfer_in' | 'deposit' | 'withdrawal' | 'pending_out' | 'pending_in'
  | 'post_out' | 'post_in' | 'void_out' | 'void_in' | 'expire_out' | 'expire_in';

export interface HistoryEntry {
  /** The transfer id, or the id of the deposit/withdrawal. */
  transferId: string;
  type: HistoryKind;
  /** Signed: negative when money left the account. */
  amount: number;
  counterparty: string | null;
  /** Balance right after this entry. */
  balance: number;
  at: string;
}

export interface HistoryQuery {
  /** 1..1000, default 50. */
  limit?: number;
  /** `next` from the previous page. */
  cursor?: string;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  next: string | null;
}
