import type { AuditMismatch } from './audit.port';

/** An event of the ledger's stream, as the events port gives it (repeated here: accounts never imports events). */
export interface LedgerEvent {
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export interface ReplayedAccount {
  balance: number;
  floor: number;
  pendingDebits: number;
  pendingCredits: number;
  /** The last event that changed it. */
  eventId: string;
}

interface Reservation { from: string; to: string; amount: number }

const num = (value: unknown): number => (typeof value === 'number' && Number.isSafeInteger(value) ? value : NaN);
const str = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * The ledger as its event stream tells it (src/accounts/events.ts documents every event): balances, floors,
 * pending sides and open reservations, folded event by event. Also a read model (the board's ledger summary).
 * Events state the balances they leave (`balance`, `fromBalance`, `toBalance`): a stated balance that differs from
 * the replayed one is recorded as the first `contradiction` (the stream itself is inconsistent, or incomplete).
 */
export class LedgerReplay {
  readonly accounts = new Map<string, ReplayedAccount>();
  readonly reservations = new Map<string, Reservation>();
  /** Σ opening balances, deposits, withdrawals (BigInt: sums may pass 2^53). */
  opened = 0n;
  deposited = 0n;
  withdrawn = 0n;
  events = 0;
  lastEventId: string | null = null;
  contradiction?: AuditMismatch;

  apply(event: LedgerEvent): void {
    const d = event.data ?? {};
    this.events += 1;
    this.lastEventId = event.id;
    switch (event.type) {
      case 'account.opened': {
        const balance = num(d.balance);
        this.accounts.set(str(d.account), { balance, floor: num(d.floor), pendingDebits: 0, pendingCredits: 0, eventId: event.id });
        this.opened += BigInt(Number.isNaN(balance) ? 0 : balance);
        break;
      }
      case 'account.deposited':
      case 'account.withdrawn': {
        const sign = event.type === 'account.deposited' ? 1 : -1;
        const amount = num(d.amount);
        this.move(event.id, str(d.account), sign * amount, d.balance);
        if (sign > 0) this.deposited += BigInt(amount || 0);
        else this.withdrawn += BigInt(amount || 0);
        break;
      }
      case 'transfer.completed':
      case 'transfer.pending':
        this.transfer(event.id, d);
        break;
      case 'transfer.batch_completed':
        for (const item of Array.isArray(d.transfers) ? (d.transfers as Record<string, unknown>[]) : []) this.transfer(event.id, item);
        break;
      case 'transfer.posted': {
        const posted = num(d.amount);
        this.release(event.id, str(d.id), str(d.from), str(d.to), posted + num(d.released));
        this.move(event.id, str(d.from), -posted, d.fromBalance);
        this.move(event.id, str(d.to), posted, d.toBalance);
        break;
      }
      case 'transfer.voided':
      case 'transfer.expired':
        this.release(event.id, str(d.id), str(d.from), str(d.to), num(d.amount));
        break;
      default:
        break; // not an Accounts event (another module on the same shard)
    }
  }

  /** A plain transfer moves; a pending one (`expiresAt`, or `pending: true` in a batch) reserves. */
  private transfer(eventId: string, d: Record<string, unknown>): void {
    const [from, to, amount] = [str(d.from), str(d.to), num(d.amount)];
    if (d.pending === true || (d.fromBalance === undefined && d.expiresAt !== undefined)) {
      this.account(eventId, from, (a) => (a.pendingDebits += amount));
      this.account(eventId, to, (a) => (a.pendingCredits += amount));
      this.reservations.set(str(d.id), { from, to, amount });
      return;
    }
    this.move(eventId, from, -amount, d.fromBalance);
    this.move(eventId, to, amount, d.toBalance);
  }

  private release(eventId: string, id: string, from: string, to: string, amount: number): void {
    this.account(eventId, from, (a) => (a.pendingDebits -= amount));
    this.account(eventId, to, (a) => (a.pendingCredits -= amount));
    this.reservations.delete(id);
  }

  private move(eventId: string, id: string, delta: number, stated: unknown): void {
    this.account(eventId, id, (a) => {
      a.balance += delta;
      if (stated !== undefined && num(stated) !== a.balance && !this.contradiction) {
        this.contradiction = { account: id, field: 'event', stored: num(stated), expected: a.balance, eventId };
      }
    });
  }

  private account(eventId: string, id: string, change: (a: ReplayedAccount) => void): void {
    const account = this.accounts.get(id);
    if (!account) {
      this.contradiction ??= { account: id, field: 'event', stored: null, expected: NaN, eventId };
      return;
    }
    change(account);
    account.eventId = eventId;
  }

  /** Σ replayed balances and pending debits. */
  sums(): { balances: bigint; pending: bigint } {
    let balances = 0n;
    let pending = 0n;
    for (const a of this.accounts.values()) {
      balances += BigInt(Number.isSafeInteger(a.balance) ? a.balance : 0);
      pending += BigInt(Number.isSafeInteger(a.pendingDebits) ? a.pendingDebits : 0);
    }
    return { balances, pending };
  }

  /** A deep copy (the audit replays a window of concurrent events on it). */
  clone(): LedgerReplay {
    const copy = new LedgerReplay();
    for (const [id, a] of this.accounts) copy.accounts.set(id, { ...a });
    for (const [id, r] of this.reservations) copy.reservations.set(id, { ...r });
    Object.assign(copy, { opened: this.opened, deposited: this.deposited, withdrawn: this.withdrawn, events: this.events,
      lastEventId: this.lastEventId, contradiction: this.contradiction });
    return copy;
  }
}
