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
}

export type AccountsErrorCode = 'ACCOUNT_NOT_FOUND' | 'ACCOUNT_EXISTS' | 'INSUFFICIENT_FUNDS' | 'BALANCE_LIMIT_EXCEEDED';

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
  balance: number;
  minBalance: number;
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
  /** After the debit the source keeps at least max(its own floor, this). */
  minBalance?: number;
}

export interface TransferReceipt {
  /** Transfer id, also on both history entries. */
  id: string;
  from: Balance;
  to: Balance;
  amount: number;
  /** Server time of the transfer (ISO 8601). */
  at: string;
}

export type HistoryKind = 'transfer_out' | 'transfer_in' | 'deposit' | 'withdrawal';

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
