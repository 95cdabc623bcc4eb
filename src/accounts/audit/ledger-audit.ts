import type { Account, AccountsLedger } from '../accounts.port';
import type { AuditMismatch, AuditReport } from './audit.port';
import { LedgerEvent, LedgerReplay, ReplayedAccount } from './ledger-replay';

/** What the audit needs of the ledger's event stream (the events port, adapted by whoever wires the audit). */
export interface AuditStream {
  /** Entries kept (`length`), ever appended (`added`, NaN when unknown), the oldest kept. */
  info(): Promise<{ length: number; added: number; firstId: string | null }>;
  /** A page after `after` (exclusive), oldest first; `next` null at the end. */
  read(after: string | undefined, limit: number): Promise<{ events: LedgerEvent[]; next: string | null }>;
}

export interface AuditOptions {
  /** Reads of the stored balances before giving up on a quiet one (default 5). */
  attempts?: number;
  /** Stored accounts read at once (default 50). */
  concurrency?: number;
}

type State = Pick<ReplayedAccount, 'balance' | 'floor' | 'pendingDebits' | 'pendingCredits'>;
const FIELDS = ['balance', 'pendingDebits', 'pendingCredits', 'floor'] as const;

/**
 * Replays the ledger's stream from its first entry, reads every stored account the stream opened, and compares.
 *
 * Concurrent writes: the stream is read to its end (position L1), the stored accounts are read, then the stream
 * again (to L2). No event in between: the stored state is the state at L1, compared exactly, Σ included. Events in
 * between: retried (up to `attempts`); if the ledger never holds still, each account must equal one of the states
 * the stream gives it from L1 to L2 (any one proves it: the account was read at some moment in that window), and
 * the Σ check is reported as not done.
 */
export async function auditLedger(ledger: string, accounts: AccountsLedger, stream: AuditStream, options: AuditOptions = {}):
  Promise<AuditReport> {
  const started = Date.now();
  const attempts = options.attempts ?? 5;
  const info = await stream.info();
  let replay = new LedgerReplay();
  const base = { ledger, stream: { length: info.length, added: info.added, firstId: info.firstId }, startedAt: new Date(started).toISOString() };
  const finish = (report: Omit<AuditReport, 'ledger' | 'stream' | 'startedAt' | 'durationMs' | 'events' | 'lastEventId' | 'accounts'>,
    at: LedgerReplay = replay): AuditReport =>
    ({ ...base, events: at.events, lastEventId: at.lastEventId, accounts: at.accounts.size, ...report, durationMs: Date.now() - started });
  const totals = (stored: bigint, pendingStored: bigint, checked: boolean, at: LedgerReplay = replay) => ({
    stored: Number(stored), expected: Number(at.opened + at.deposited - at.withdrawn), opened: Number(at.opened),
    deposited: Number(at.deposited), withdrawn: Number(at.withdrawn), pendingStored: Number(pendingStored),
    pendingExpected: Number(at.sums().pending), checked,
  });

  const unprovable = (reason: string) => finish({ verdict: 'unprovable', reason, mismatches: 0, totals: totals(0n, 0n, false), concurrent: false });
  if (!Number.isFinite(info.added)) return unprovable('the server does not tell how many events were ever appended (XINFO STREAM entries-added needs Redis 7.0)');
  if (info.added > info.length) {
    return unprovable(`the stream was trimmed: ${info.added - info.length} of ${info.added} events are gone (EVENTS_MAXLEN), ` +
      'so the balances cannot be recomputed from the start');
  }

  // Replay to the end. The first entry read must be the oldest kept when info was taken (none trimmed since).
  let first = true;
  const readOn = async (target: LedgerReplay, window?: (event: LedgerEvent) => void): Promise<boolean> => {
    for (let cursor = target.lastEventId ?? undefined; ;) {
      const page = await stream.read(cursor, 1000);
      for (const event of page.events) {
        // (an empty stream at `info` has nothing to lose: its first entries arrived since)
        if (first && info.firstId !== null && event.id !== info.firstId) return false;
        first = false;
        target.apply(event);
        window?.(event);
      }
      if (!page.next) return true;
      cursor = page.next;
    }
  };
  if (!(await readOn(replay))) return unprovable('the stream was trimmed while the audit started: its first event is gone');

  for (let attempt = 1; ; attempt++) {
    const ids = [...replay.accounts.keys()];
    const stored = await readAccounts(accounts, ids, options.concurrency ?? 50);
    // The window: every state each account takes from L1 on.
    const after = replay.clone();
    const seen = new Map<string, State[]>(ids.map((id) => [id, [stateOf(replay.accounts.get(id)!)]]));
    await readOn(after, (event) => {
      for (const id of touched(event)) {
        const a = after.accounts.get(id);
        if (a && seen.has(id)) seen.get(id)!.push(stateOf(a));
      }
    });
    const quiet = after.events === replay.events;
    if (!quiet && attempt < attempts) {
      replay = after; // move on to L2 and read the stored accounts again
      continue;
    }
    let mismatches = 0;
    let firstMismatch: AuditMismatch | undefined;
    let storedSum = 0n;
    let pendingSum = 0n;
    for (const id of ids) {
      const account = stored.get(id) ?? null;
      const candidates = seen.get(id)!;
      if (account) {
        storedSum += BigInt(account.balance);
        pendingSum += BigInt(account.pendingDebits);
      }
      const matched = account !== null && candidates.some((c) => FIELDS.every((f) => c[f] === account[f === 'floor' ? 'minBalance' : f]));
      if (matched) continue;
      mismatches += 1;
      if (!firstMismatch) {
        const expected = candidates[0];
        const field = account === null ? 'missing' : FIELDS.find((f) => expected[f] !== account[f === 'floor' ? 'minBalance' : f])!;
        firstMismatch = {
          account: id, field, stored: account === null ? null : account[field === 'floor' ? 'minBalance' : field as 'balance'],
          expected: field === 'missing' ? expected.balance : expected[field as keyof State], eventId: replay.accounts.get(id)!.eventId,
        };
      }
    }
    // No stored account differs, but an event states a balance the replay does not reach (or names an account the
    // stream never opened): the stream contradicts itself.
    firstMismatch ??= replay.contradiction ?? after.contradiction;
    const sums = replay.sums();
    const sumsAgree = quiet && storedSum === replay.opened + replay.deposited - replay.withdrawn && sums.balances === storedSum &&
      pendingSum === sums.pending;
    if (quiet && !sumsAgree && !firstMismatch) {
      firstMismatch = { account: '*', field: 'sum', stored: Number(storedSum), expected: Number(replay.opened + replay.deposited - replay.withdrawn),
        eventId: replay.lastEventId };
    }
    const bad = mismatches > 0 || firstMismatch !== undefined || (quiet && !sumsAgree);
    return finish({
      verdict: bad ? 'mismatch' : 'consistent',
      ...(!quiet && { reason: `the ledger changed during all ${attempts} reads; each account was proven against the states the stream gave it meanwhile` }),
      mismatches, ...(firstMismatch && { firstMismatch }), totals: totals(storedSum, pendingSum, quiet), concurrent: !quiet,
    });
  }
}

const stateOf = (a: ReplayedAccount): State => ({ balance: a.balance, floor: a.floor, pendingDebits: a.pendingDebits, pendingCredits: a.pendingCredits });

/** The accounts an event changes. */
function touched(event: LedgerEvent): string[] {
  const d = event.data ?? {};
  if (event.type === 'transfer.batch_completed') {
    return (Array.isArray(d.transfers) ? (d.transfers as Record<string, unknown>[]) : []).flatMap((t) => [String(t.from), String(t.to)]);
  }
  return [d.account, d.from, d.to].filter((v): v is string => typeof v === 'string');
}

async function readAccounts(ledger: AccountsLedger, ids: string[], concurrency: number): Promise<Map<string, Account>> {
  const found = new Map<string, Account>();
  for (let i = 0; i < ids.length; i += concurrency) {
    const chunk = ids.slice(i, i + concurrency);
    const accounts = await Promise.all(chunk.map((id) => ledger.get(id)
      .catch((err: { code?: string }) => (err.code === 'ACCOUNT_NOT_FOUND' ? null : Promise.reject(err)))));
    accounts.forEach((a, j) => a && found.set(chunk[j], a));
  }
  return found;
}
