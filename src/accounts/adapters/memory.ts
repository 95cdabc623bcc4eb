import { randomUUID } from 'node:crypto';
import type {
  Account, AccountsLedger, Balance, HistoryEntry, HistoryKind, HistoryPage, HistoryQuery, Movement, OpenAccount,
  Transfer, TransferReceipt,
} from '../accounts.port';
import { AccountState, accountsError, entryTime, LedgerLimits, planMovement, planTransfers } from '../ledger-rules';

interface StoredEntry extends HistoryEntry {
  entryId: string;
}

/**
 * In-process ledger with the same observable behaviour as the Redis adapters (same contract suite).
 * Every operation does its reads, checks and writes synchronously — no `await` in between — so each is
 * atomic with respect to the others on Node's single thread.
 */
export class MemoryAccountsLedger implements AccountsLedger {
  private readonly accounts = new Map<string, { balance: number; minBalance: number }>();
  private readonly histories = new Map<string, StoredEntry[]>();
  private lastMs = 0;
  private seq = 0;

  constructor(private readonly limits: LedgerLimits) {}

  async open({ id, balance = 0, minBalance = 0 }: OpenAccount): Promise<Account> {
    if (this.accounts.has(id)) throw accountsError('ACCOUNT_EXISTS', 'account already exists');
    this.accounts.set(id, { balance, minBalance });
    return { id, balance, minBalance };
  }

  async get(id: string): Promise<Account> {
    const account = this.accounts.get(id);
    if (!account) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return { id, ...account };
  }

  async deposit(cmd: Movement): Promise<Balance> {
    return this.move(cmd.id, cmd.amount, 'deposit');
  }

  async withdraw(cmd: Movement): Promise<Balance> {
    return this.move(cmd.id, -cmd.amount, 'withdrawal');
  }

  async transfer(cmd: Transfer): Promise<TransferReceipt> {
    return this.apply([cmd], false)[0];
  }

  async transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    return this.apply(cmds, true);
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    if (!this.accounts.has(id)) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    const entries = this.histories.get(id) ?? [];
    let end = entries.length; // entries are oldest first; a page walks backwards from the cursor (exclusive)
    if (cursor !== undefined) {
      end = entries.findIndex((entry) => compareIds(entry.entryId, cursor) >= 0);
      if (end < 0) end = entries.length;
    }
    const page = entries.slice(Math.max(0, end - limit), end).reverse();
    const next = end - limit > 0 ? page[page.length - 1].entryId : null;
    return { entries: page.map(({ entryId, ...entry }) => entry), next };
  }

  private move(id: string, delta: number, type: HistoryKind): Balance {
    const account = this.accounts.get(id);
    const balance = planMovement(account ?? null, delta);
    account!.balance = balance;
    this.record(id, { transferId: randomUUID(), type, amount: delta, counterparty: null, balance }, this.nextEntryId());
    return { id, balance };
  }

  private apply(cmds: readonly Transfer[], batch: boolean): TransferReceipt[] {
    const involved = new Map<string, AccountState>();
    for (const { from, to } of cmds) {
      for (const id of [from, to]) involved.set(id, this.accounts.get(id) ?? null);
    }
    const { after } = planTransfers(involved, cmds, batch);
    const entryId = this.nextEntryId();
    const at = entryTime(entryId);
    return cmds.map((cmd, i) => {
      const [fromBalance, toBalance] = after[i];
      this.accounts.get(cmd.from)!.balance = fromBalance;
      this.accounts.get(cmd.to)!.balance = toBalance;
      const id = randomUUID();
      this.record(cmd.from, { transferId: id, type: 'transfer_out', amount: -cmd.amount, counterparty: cmd.to, balance: fromBalance },
        i === 0 ? entryId : this.nextEntryId());
      this.record(cmd.to, { transferId: id, type: 'transfer_in', amount: cmd.amount, counterparty: cmd.from, balance: toBalance },
        this.nextEntryId());
      return { id, from: { id: cmd.from, balance: fromBalance }, to: { id: cmd.to, balance: toBalance }, amount: cmd.amount, at };
    });
  }

  private record(accountId: string, entry: Omit<HistoryEntry, 'at'>, entryId: string): void {
    let entries = this.histories.get(accountId);
    if (!entries) this.histories.set(accountId, (entries = []));
    entries.push({ ...entry, at: entryTime(entryId), entryId });
    if (entries.length > this.limits.historyLimit) entries.splice(0, entries.length - this.limits.historyLimit);
  }

  /** Stream-style ids (`<ms>-<seq>`), increasing, like the Redis adapters' history cursors. */
  private nextEntryId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.seq = 0;
    } else {
      this.seq++;
    }
    return `${this.lastMs}-${this.seq}`;
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(BigInt);
  const [bm, bs] = b.split('-').map(BigInt);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}
