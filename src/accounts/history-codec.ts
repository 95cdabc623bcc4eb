import type { HistoryEntry, HistoryKind, HistoryPage } from './accounts.port';

/**
 * History entries as stored — one string each, newest first — by every adapter, so pages and cursors behave
 * identically everywhere. lua/accounts.lua writes the same format:
 *   <op id>|<kind>|<server time, ms>|<signed amount>|<counterparty>|<balance after>
 * Kinds: o i d w, and for pending transfers ho hi (reserved), po pi (posted), vo vi (voided), xo xi (expired).
 * Ids are allowlisted (no `|`), so the fields split safely.
 */
export type KindCode = 'o' | 'i' | 'd' | 'w' | 'ho' | 'hi' | 'po' | 'pi' | 'vo' | 'vi' | 'xo' | 'xi';

const KINDS: Record<KindCode, HistoryKind> = {
  o: 'transfer_out', i: 'transfer_in', d: 'deposit', w: 'withdrawal',
  ho: 'pending_out', hi: 'pending_in', po: 'post_out', pi: 'post_in', vo: 'void_out', vi: 'void_in', xo: 'expire_out', xi: 'expire_in',
};

/** Kinds whose amount changed the posted balance (the others reserve or release). */
export const MOVES_BALANCE: ReadonlySet<HistoryKind> = new Set(['transfer_out', 'transfer_in', 'deposit', 'withdrawal', 'post_out', 'post_in']);

export function encodeEntry(opId: string, kind: KindCode, ms: number, amount: number, counterparty: string, balance: number): string {
  return `${opId}|${kind}|${ms}|${amount}|${counterparty}|${balance}`;
}

export function decodeEntry(text: string): HistoryEntry {
  const [transferId, kind, ms, amount, counterparty, balance] = text.split('|');
  return {
    transferId,
    type: KINDS[kind as KindCode],
    amount: Number(amount),
    counterparty: counterparty || null,
    balance: Number(balance),
    at: new Date(Number(ms)).toISOString(),
  };
}

/** A page from up to `limit + 1` stored entries (the extra one only says "there is more"). */
export function historyPage(stored: readonly string[], limit: number): HistoryPage {
  const page = stored.slice(0, limit);
  return { entries: page.map(decodeEntry), next: stored.length > limit ? cursorOf(page[page.length - 1]) : null };
}

/** The opaque cursor of a page is its last entry, base64url-encoded (the next page starts right after it). */
export const cursorOf = (entry: string): string => Buffer.from(entry).toString('base64url');
export const entryOfCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString();

const ENTRY = /^[A-Za-z0-9_-]{1,64}\|(?:[oidw]|[hpvx][oi])\|\d{1,16}\|-?\d{1,16}\|[A-Za-z0-9_-]{0,64}\|-?\d{1,16}$/;

/** A cursor this code could have produced: base64url of a well-formed entry. */
export const isCursor = (cursor: string): boolean =>
  /^[A-Za-z0-9_-]{1,300}$/.test(cursor) && ENTRY.test(entryOfCursor(cursor));
