import { AtomicError, idempotentCall, IdempotentCall, operationId } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, PendingTransfer, PostPending, SweepResult,
  Transfer, TransferReceipt, VoidPending, WriteOptions,
} from '../accounts.port';
import { AccountEvent, accountEvents } from '../events';
import { encodeEntry, entryOfCursor, historyPage, KindCode } from '../history-codec';
import {
  AccountState, accountsError, accountView, LedgerLimits, PendingRecord, pendingView, planMovement, planResolve, planTransfers, requestOf,
  Resolution,
} from '../ledger-rules';

export interface MemoryShardAccess {
  account(id: string): NonNullable<AccountState> | undefined;
  push(id: string, entries: string[]): void;
  append(event: AccountEvent): void;
}

/**
 * In-process ledger with the same observable behaviour as the Redis adapters (same contract suite; history
 * stored in the same format, newest first, so pages and cursors match). Every operation does its reads,
 * checks and writes synchronously — no `await` in between — so each is atomic on Node's single thread.
 */
export class MemoryAccountsLedger implements AccountsLedger {
  private readonly accounts = new Map<string, NonNullable<AccountState>>();
  /** Pending transfers by id, and the open ones' deadlines (the Redis adapters' sorted set). */
  private readonly pending = new Map<string, PendingRecord>();
  private readonly deadlines = new Map<string, number>();
  private readonly histories = new Map<string, string[]>();
  private readonly records = new MemoryIdempotency();

  /** `events`: the shard's log, shared through MemoryStores (one per shard, as the Redis stream is). */
  constructor(private readonly limits: LedgerLimits, private readonly ledger: string, private readonly events: MemoryEventLog) {}

  async open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    return this.records.run(this.call(options, requestOf.open(cmd)), () => {
      const { id, balance = 0, minBalance = 0 } = cmd;
      if (this.accounts.has(id)) throw accountsError('ACCOUNT_EXISTS', 'account already exists');
      const account = { balance, minBalance, pendingDebits: 0, pendingCredits: 0 };
      this.accounts.set(id, account);
      this.append(accountEvents.opened(id, balance, minBalance));
      return accountView(id, account);
    });
  }

  async get(id: string): Promise<Account> {
    const account = this.accounts.get(id);
    if (!account) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return accountView(id, account);
  }

  async deposit(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    const call = this.call(options, requestOf.deposit(cmd));
    return this.records.run(call, () => this.move(cmd.id, cmd.amount, 'd', operationId(call)));
  }

  async withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    const call = this.call(options, requestOf.withdraw(cmd));
    return this.records.run(call, () => this.move(cmd.id, -cmd.amount, 'w', operationId(call)));
  }

  async transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt> {
    const call = this.call(options, requestOf.transfer(cmd));
    return this.records.run(call, () => this.apply([cmd], false, call)[0]);
  }

  async transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]> {
    const call = this.call(options, requestOf.batch(cmds));
    return this.records.run(call, () => this.apply(cmds, true, call));
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    if (!this.accounts.has(id)) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    const stored = this.histories.get(id) ?? [];
    let start = 0;
    if (cursor) {
      const position = stored.indexOf(entryOfCursor(cursor));
      if (position < 0) return { entries: [], next: null }; // trimmed, and everything older too
      start = position + 1;
    }
    return historyPage(stored.slice(start, start + limit + 1), limit);
  }

  async postTransfer(cmd: PostPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.records.run(this.call(options, requestOf.post(cmd)), () => this.resolve(cmd.id, 'post', cmd.amount)!);
  }

  async voidTransfer(cmd: VoidPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.records.run(this.call(options, requestOf.void(cmd.id)), () => this.resolve(cmd.id, 'void')!);
  }

  async getTransfer(id: string): Promise<PendingTransfer> {
    const record = this.pending.get(id);
    if (!record) throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found');
    return pendingView(id, record, Date.now());
  }

  async sweepExpired(limit = 100): Promise<SweepResult> {
    const now = Date.now();
    const due = [...this.deadlines].filter(([, deadline]) => deadline <= now).sort((a, b) => a[1] - b[1]).slice(0, limit);
    const expired: string[] = [];
    for (const [id] of due) if (this.resolve(id, 'expire')) expired.push(id);
    return { expired };
  }

  async listPending(limit = 100): Promise<PendingTransfer[]> {
    const now = Date.now();
    return [...this.deadlines].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).slice(0, limit)
      .map(([id]) => pendingView(id, this.pending.get(id)!, now));
  }

  /** Post, void or expire (null: an expiry with nothing to do). Synchronous: check and effect are one step. */
  private resolve(id: string, mode: Resolution, amount?: number): PendingTransfer | null {
    const record = this.pending.get(id) ?? null;
    const now = Date.now();
    const posted = planResolve(record, mode, now, amount);
    if (posted === null || !record) return null;
    const from = this.accounts.get(record.from)!;
    const to = this.accounts.get(record.to)!;
    from.pendingDebits -= record.amount;
    to.pendingCredits -= record.amount;
    from.balance -= posted;
    to.balance += posted;
    const [out, into, sign] = mode === 'post' ? ['po', 'pi', -1] as const : mode === 'void' ? ['vo', 'vi', 1] as const : ['xo', 'xi', 1] as const;
    const moved = mode === 'post' ? posted : record.amount;
    this.push(record.from, [encodeEntry(id, out, now, sign * moved, record.to, from.balance)]);
    this.push(record.to, [encodeEntry(id, into, now, -sign * moved, record.from, to.balance)]);
    Object.assign(record, { state: mode === 'post' ? 'posted' : mode === 'void' ? 'voided' : 'expired', resolvedMs: now },
      mode === 'post' ? { postedAmount: posted } : {});
    this.deadlines.delete(id);
    this.append(accountEvents.resolved(mode, id, record.from, record.to, record.amount, posted, from.balance, to.balance));
    return pendingView(id, record, now);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.ledger, options?.idempotencyKey, request, { ttlSeconds: this.limits.idempotencyTtlSeconds });
  }

  private move(id: string, delta: number, kind: KindCode, opId: string): Balance {
    const account = this.accounts.get(id);
    const balance = planMovement(account ?? null, delta);
    account!.balance = balance;
    this.push(id, [encodeEntry(opId, kind, Date.now(), delta, '', balance)]);
    this.append(accountEvents.moved(opId, id, delta, balance));
    return { id, balance };
  }

  private apply(cmds: readonly Transfer[], batch: boolean, call: IdempotentCall | undefined): TransferReceipt[] {
    const involved = new Map<string, AccountState>();
    for (const { from, to } of cmds) {
      for (const id of [from, to]) involved.set(id, this.accounts.get(id) ?? null);
    }
    const { after, positions } = planTransfers(involved, cmds, batch);
    // A new pending transfer's id is fresh (random, or derived from an idempotency key whose record expired).
    if (cmds.some((cmd, i) => cmd.pending && this.pending.has(operationId(call, i)))) {
      throw new AtomicError('INVALID_ARGUMENT', 'transfer id must be a new pending transfer id');
    }
    const ms = Date.now();
    const entries = new Map<string, string[]>([...involved.keys()].map((id) => [id, []]));
    const deadlines = cmds.map((cmd) => (cmd.pending ? ms + cmd.timeoutSeconds! * 1000 : undefined));
    const receipts = cmds.map((cmd, i): TransferReceipt => {
      const id = operationId(call, i);
      const [fromBalance, toBalance] = after[i];
      const [out, into] = cmd.pending ? ['ho', 'hi'] as const : ['o', 'i'] as const;
      entries.get(cmd.from)!.push(encodeEntry(id, out, ms, -cmd.amount, cmd.to, fromBalance));
      entries.get(cmd.to)!.push(encodeEntry(id, into, ms, cmd.amount, cmd.from, toBalance));
      const receipt = { id, from: { id: cmd.from, balance: fromBalance }, to: { id: cmd.to, balance: toBalance }, amount: cmd.amount,
        at: new Date(ms).toISOString() };
      if (!cmd.pending) return receipt;
      this.pending.set(id, { from: cmd.from, to: cmd.to, amount: cmd.amount, state: 'pending', createdMs: ms, deadlineMs: deadlines[i]! });
      this.deadlines.set(id, deadlines[i]!);
      return { ...receipt, status: 'pending', expiresAt: new Date(deadlines[i]!).toISOString() };
    });
    for (const [id, position] of positions) Object.assign(this.accounts.get(id)!, position);
    for (const [id, list] of entries) this.push(id, list);
    this.append(accountEvents.transfers(cmds, receipts.map((r) => r.id), after, batch, deadlines));
    return receipts;
  }

  /**
   * For a spread ledger's memory escrow (src/accounts/spread/adapters/memory-escrow.ts): this shard's account states, history
   * and event log, which its escrow steps read and write synchronously (so each step is atomic, as an FCALL is).
   */
  escrowAccess(): MemoryShardAccess {
    return { account: (id) => this.accounts.get(id), push: (id, entries) => this.push(id, entries), append: (event) => this.append(event) };
  }

  private append({ type, data }: AccountEvent): void {
    this.events.append(type, data, this.limits.eventsMaxLen);
  }

  /** LPUSH + LTRIM: entries oldest first, the newest ends first; keep the newest `historyLimit`. */
  private push(accountId: string, entries: string[]): void {
    const list = [...entries].reverse().concat(this.histories.get(accountId) ?? []);
    this.histories.set(accountId, list.slice(0, this.limits.historyLimit));
  }
}
