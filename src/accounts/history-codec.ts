import type { HistoryEntry, HistoryKind, HistoryPage } from './accounts.port';

/**
 * History entries as stored — one string each, newest first — by every adapter, so pages and cursors behave
 * identically everywhere. lua/accounts.lua writes the same format:
 *   <op id>|<kind>|<server time, ms>|<signed amount>|<counterparty>|<balance after>
 * Ids are allowlisted (no `|`), so the fields split safely.
 */
export type KindCode = 'o' | 'i' | 'd' | 'w';

const KINDS: Record<KindCode, HistoryKind> = { o: 'transfer_out', i: 'transfer_in', d: 'deposit', w: 'withdrawal' };

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

const ENTRY = /^[A-Za-z0-9_-]{1,64}\|[oidw]\|\d{1,16}\|-?\d{1,16}\|[A-Za-z0-9_-]{0,64}\|-?\d{1,16}$/;

/** A cursor this code could have produced: base64url of a well-formed entry. */
export const isCursor = (cursor: string): boolean =>
  /^[A-Za-z0-9_-]{1,300}$/.test(cursor) && ENTRY.test(entryOfCursor(cursor));
