import { idempotencyMismatch } from '@kernel/core';
import type { MemoryAccountsLedger } from '../../adapters/memory';
import type { MemoryShardAccess } from '../../adapters/memory';
import { encodeEntry } from '../../history-codec';
import type {
  Decision, DecidedBy, EscrowStore, Leg, Marker, PostedLegs, PostResult, TxState, TxView, Vote, VoidResult,
} from '../escrow.port';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

interface Hold {
  deadline: number;
  participants: number[];
  accounts: { id: string; x: number; y: number; net: number }[];
  legs: Leg[];
}

interface Shard {
  access: MemoryShardAccess;
  holds: Map<string, Hold>;
  done: Map<string, { kind: 'P'; posted: PostedLegs } | { kind: 'V' } | { kind: 'R'; index: number; rank: number; error: string }>;
  txs: Map<string, TxView & { fingerprint: string }>;
  due: Map<string, number>;
}

const errorText = (code: string, details: Record<string, unknown>) => `${code} ${JSON.stringify(details)}`;

/**
 * The memory strategy's escrow store: shards simulated in process, one MemoryAccountsLedger each, with the same
 * steps and replies as lua/escrow.lua. Each step is synchronous between its first read and its last write (no
 * await), so it is atomic on Node's thread — as an FCALL is on its shard. Markers and finished records are kept
 * (no expiry: a test process is short).
 */
export class MemoryEscrowStore implements EscrowStore {
  readonly shards: number;
  private readonly state: Shard[];

  constructor(ledgers: readonly MemoryAccountsLedger[]) {
    this.shards = ledgers.length;
    this.state = ledgers.map((l) => ({ access: l.escrowAccess(), holds: new Map(), done: new Map(), txs: new Map(), due: new Map() }));
  }

  async begin(bucket: number, txid: string, fingerprint: string, participants: number[], timeoutMs: number, graceMs: number): Promise<TxView> {
    const s = this.state[bucket];
    const tx = s.txs.get(txid);
    if (tx) {
      if (tx.fingerprint !== '' && tx.fingerprint !== fingerprint) {
        throw idempotencyMismatch();
      }
      return view(tx);
    }
    const deadlineMs = Date.now() + timeoutMs;
    const created = { state: 'PREPARING' as TxState, deadlineMs, finished: false, reason: '', outcome: '', participants, fingerprint };
    s.txs.set(txid, created);
    s.due.set(txid, deadlineMs + graceMs);
    return view(created);
  }

  async hold(shard: number, txid: string, deadlineMs: number, participants: number[], legs: Leg[]): Promise<Vote> {
    const s = this.state[shard];
    const done = s.done.get(txid);
    if (done) return doneVote(done);
    if (s.holds.has(txid)) return { kind: 'HELD' };
    const refuse = (index: number, rank: number, error: string): Vote => {
      s.done.set(txid, { kind: 'R', index, rank, error });
      return { kind: 'REFUSED', index, rank, error };
    };
    if (Date.now() >= deadlineMs) {
      return refuse(999_999, 0, errorText('TRANSFER_ABORTED', { message: 'the transaction passed its deadline before it was held', reason: 'deadline' }));
    }
    const sim = new Map<string, { c: number; low: number; high: number }>();
    let best: { index: number; rank: number; error: string } | undefined;
    const refused = (index: number, rank: number, code: string, details: Record<string, unknown>) => {
      if (best && (index > best.index || (index === best.index && rank >= best.rank))) return;
      best = { index, rank, error: errorText(code, { ...details, index }) };
    };
    for (const leg of legs) {
      if (best && leg.index > best.index) break;
      const a = s.access.account(leg.account);
      if (!sim.has(leg.account)) sim.set(leg.account, { c: 0, low: 0, high: 0 });
      const t = sim.get(leg.account)!;
      if (!a) {
        refused(leg.index, leg.amount < 0 ? 0 : 1, 'ACCOUNT_NOT_FOUND',
          { message: `${leg.amount < 0 ? 'source' : 'target'} account not found`, account: leg.account });
      } else if (leg.amount < 0) {
        const floor = Math.max(a.minBalance, leg.floor ?? -MAX_SAFE);
        const balance = a.balance + t.c;
        if (balance - a.pendingDebits + leg.amount < floor) {
          refused(leg.index, 2, 'INSUFFICIENT_FUNDS', { message: 'balance would fall below the floor', account: leg.account, balance,
            available: balance - a.pendingDebits, floor });
        }
        t.c += leg.amount;
        t.low = Math.min(t.low, t.c);
        if (a.pendingDebits - t.low > MAX_SAFE) {
          refused(leg.index, 3, 'BALANCE_LIMIT_EXCEEDED', { message: 'pending debits would exceed the largest safe integer', account: leg.account });
        }
      } else {
        if (a.balance + t.c + a.pendingCredits + leg.amount > MAX_SAFE || a.pendingCredits + t.high + leg.amount > MAX_SAFE) {
          refused(leg.index, 3, 'BALANCE_LIMIT_EXCEEDED', { message: 'balance would exceed the largest safe integer', account: leg.account });
        }
        t.c += leg.amount;
        t.high = Math.max(t.high, t.c);
      }
    }
    if (best) return refuse(best.index, best.rank, best.error);
    const accounts = [...sim].map(([id, t]) => ({ id, x: -t.low, y: t.high, net: t.c }));
    for (const { id, x, y } of accounts) {
      const a = s.access.account(id)!;
      a.pendingDebits += x;
      a.pendingCredits += y;
    }
    s.holds.set(txid, { deadline: deadlineMs, participants, accounts, legs });
    return { kind: 'HELD' };
  }

  async decide(bucket: number, txid: string, wanted: 'COMMITTED' | 'ABORTED', reason: string, by: DecidedBy, participants: number[],
    graceMs: number): Promise<Decision> {
    const s = this.state[bucket];
    const tx = s.txs.get(txid);
    const now = Date.now();
    if (!tx) {
      if (wanted === 'ABORTED') {
        s.txs.set(txid, { state: 'ABORTED', deadlineMs: 0, finished: true, reason, outcome: '', participants: [], fingerprint: '' });
        return { state: 'ABORTED', reason };
      }
      if (by !== 'evidence') return { state: 'MISSING', reason: '' };
      s.txs.set(txid, { state: 'COMMITTED', deadlineMs: 0, finished: false, reason: '', outcome: '', participants, fingerprint: '' });
      s.due.set(txid, now + graceMs);
      return { state: 'COMMITTED', reason: '' };
    }
    if (tx.state !== 'PREPARING') return { state: tx.state, reason: tx.reason };
    if (by === 'sweeper' && now < tx.deadlineMs + graceMs) return { state: 'PREPARING' as TxState, reason: '' };
    let state: TxState = wanted;
    if (by === 'coordinator' && wanted === 'COMMITTED' && now >= tx.deadlineMs) {
      state = 'ABORTED';
      reason = errorText('TRANSFER_ABORTED', { message: 'the transaction passed its deadline before it was decided', reason: 'deadline' });
    }
    Object.assign(tx, { state, reason });
    s.due.set(txid, now + graceMs);
    return { state, reason };
  }

  async post(shard: number, txid: string): Promise<PostResult> {
    const s = this.state[shard];
    const done = s.done.get(txid);
    if (done) return done.kind === 'P' ? { kind: 'POSTED', posted: done.posted } : { kind: 'CONFLICT', with: done.kind === 'V' ? 'VOIDED' : 'REFUSED' };
    const hold = s.holds.get(txid);
    if (!hold) return { kind: 'MISSING' };
    const ms = Date.now();
    const running = new Map(hold.accounts.map((a) => [a.id, s.access.account(a.id)!.balance]));
    const entries = new Map<string, string[]>(hold.accounts.map((a) => [a.id, []]));
    const posted: PostedLegs = { ms, legs: [] };
    const legs = [];
    for (const leg of hold.legs) {
      const balance = running.get(leg.account)! + leg.amount;
      running.set(leg.account, balance);
      const role = leg.amount < 0 ? 'o' : 'i';
      entries.get(leg.account)!.push(encodeEntry(leg.itemId, role, ms, leg.amount, leg.counterparty, balance));
      posted.legs.push({ index: leg.index, role, balance });
      legs.push({ transfer: leg.itemId, account: leg.account, amount: leg.amount, counterparty: leg.counterparty, balance });
    }
    for (const { id, x, y, net } of hold.accounts) {
      const a = s.access.account(id)!;
      a.balance += net;
      a.pendingDebits -= x;
      a.pendingCredits -= y;
      s.access.push(id, entries.get(id)!);
    }
    s.holds.delete(txid);
    s.done.set(txid, { kind: 'P', posted });
    s.access.append({ type: 'transfer.cross_shard_posted', data: { id: txid, legs } });
    return { kind: 'POSTED', posted };
  }

  async void(shard: number, txid: string): Promise<VoidResult> {
    const s = this.state[shard];
    const done = s.done.get(txid);
    if (done) return done.kind === 'P' ? { kind: 'CONFLICT', with: 'POSTED' } : { kind: 'VOIDED' };
    const hold = s.holds.get(txid);
    if (hold) {
      for (const { id, x, y } of hold.accounts) {
        const a = s.access.account(id)!;
        a.pendingDebits -= x;
        a.pendingCredits -= y;
      }
      s.holds.delete(txid);
    }
    s.done.set(txid, { kind: 'V' });
    return { kind: 'VOIDED' };
  }

  async finish(bucket: number, txid: string, outcome: string): Promise<'FINISHED' | 'MISSING' | 'PREPARING'> {
    const s = this.state[bucket];
    const tx = s.txs.get(txid);
    if (!tx) {
      s.due.delete(txid);
      return 'MISSING';
    }
    if (tx.state === 'PREPARING') return 'PREPARING';
    if (!tx.finished) Object.assign(tx, { finished: true, outcome });
    s.due.delete(txid);
    return 'FINISHED';
  }

  async tx(bucket: number, txid: string): Promise<TxView | null> {
    const tx = this.state[bucket].txs.get(txid);
    return tx ? view(tx) : null;
  }

  async due(bucket: number, limit: number): Promise<string[]> {
    const now = Date.now();
    return [...this.state[bucket].due].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]).slice(0, limit).map(([id]) => id);
  }

  async marker(shard: number, txid: string): Promise<Marker> {
    const done = this.state[shard].done.get(txid);
    if (!done) return null;
    if (done.kind === 'P') return { kind: 'POSTED' };
    if (done.kind === 'V') return { kind: 'VOIDED' };
    return { kind: 'REFUSED', index: done.index, rank: done.rank, error: done.error };
  }

  async audit(shard: number, accounts: string[]): Promise<string[]> {
    const s = this.state[shard];
    const problems: string[] = [];
    for (const id of accounts) {
      let d = 0;
      let c = 0;
      for (const hold of s.holds.values()) {
        for (const a of hold.accounts) if (a.id === id) (d += a.x, c += a.y);
      }
      const a = s.access.account(id);
      if (!a) {
        if (d > 0 || c > 0) problems.push(`${id}: held but missing`);
        continue;
      }
      if (a.pendingDebits !== d) problems.push(`${id}: pending debits ${a.pendingDebits} but holds ${d}`);
      if (a.pendingCredits !== c) problems.push(`${id}: pending credits ${a.pendingCredits} but holds ${c}`);
      if (a.balance - a.pendingDebits < a.minBalance) problems.push(`${id}: available ${a.balance - a.pendingDebits} below the floor ${a.minBalance}`);
    }
    return problems;
  }

  async holds(shard: number): Promise<Map<string, string>> {
    return new Map([...this.state[shard].holds].map(([txid, h]) => [txid,
      `${h.deadline}|${h.participants.join(',')}|${h.accounts.map((a) => `${a.id}:${a.x}:${a.y}:${a.net}`).join(';')}|-`]));
  }
}

const view = (tx: TxView): TxView => ({ state: tx.state, deadlineMs: tx.deadlineMs, finished: tx.finished, reason: tx.reason, outcome: tx.outcome,
  participants: tx.participants });

function doneVote(done: Shard['done'] extends Map<string, infer D> ? D : never): Vote {
  if (done.kind === 'P') return { kind: 'POSTED', posted: done.posted };
  if (done.kind === 'V') return { kind: 'VOIDED' };
  return { kind: 'REFUSED', index: done.index, rank: done.rank, error: done.error };
}
