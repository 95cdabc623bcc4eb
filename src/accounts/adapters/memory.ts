import { idempotentCall, IdempotentCall, operationId } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, Transfer, TransferReceipt, WriteOptions,
} from '../accounts.port';
import { AccountEvent, accountEvents } from '../events';
import { encodeEntry, entryOfCursor, historyPage, KindCode } from '../history-codec';
import { AccountState, accountsError, LedgerLimits, planMovement, planTransfers, requestOf } from '../ledger-rules';

/**
 * In-process ledger with the same observable behaviour as the Redis adapters (same contract suite; history
 * stored in the same format, newest first, so pages and cursors match). Every operation does its reads,
 * checks and writes synchronously — no `await` in between — so each is atomic on Node's single thread.
 */
export class MemoryAccountsLedger implements AccountsLedger {
  private readonly accounts = new Map<string, { balance: number; minBalance: number }>();
  private readonly histories = new Map<string, string[]>();
  private readonly records = new MemoryIdempotency();

  /** `events`: the shard's log, shared through MemoryStores (one per shard, as the Redis stream is). */
  constructor(private readonly limits: LedgerLimits, private readonly ledger: string, private readonly events: MemoryEventLog) {}

  async open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    return this.records.run(this.call(options, requestOf.open(cmd)), () => {
      const { id, balance = 0, minBalance = 0 } = cmd;
      if (this.accounts.has(id)) throw accountsError('ACCOUNT_EXISTS', 'account already exists');
      this.accounts.set(id, { balance, minBalance });
      this.append(accountEvents.opened(id, balance, minBalance));
      return { id, balance, minBalance };
    });
  }

  async get(id: string): Promise<Account> {
    const account = this.accounts.get(id);
    if (!account) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return { id, ...account };
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
    const { after, balances } = planTransfers(involved, cmds, batch);
    const ms = Date.now();
    const entries = new Map<string, string[]>([...involved.keys()].map((id) => [id, []]));
    const receipts = cmds.map((cmd, i) => {
      const id = operationId(call, i);
      const [fromBalance, toBalance] = after[i];
      entries.get(cmd.from)!.push(encodeEntry(id, 'o', ms, -cmd.amount, cmd.to, fromBalance));
      entries.get(cmd.to)!.push(encodeEntry(id, 'i', ms, cmd.amount, cmd.from, toBalance));
      return { id, from: { id: cmd.from, balance: fromBalance }, to: { id: cmd.to, balance: toBalance }, amount: cmd.amount,
        at: new Date(ms).toISOString() };
    });
    for (const [id, balance] of balances) this.accounts.get(id)!.balance = balance;
    for (const [id, list] of entries) this.push(id, list);
    this.append(accountEvents.transfers(cmds, receipts.map((r) => r.id), after, batch));
    return receipts;
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
