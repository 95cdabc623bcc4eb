import type { HistoryEntry, HistoryKind, HistoryPage } from '../accounts.port';
import { entryTime } from '../ledger-rules';

/** Decoding shared by both Redis adapters: they store history identically (see lua/accounts.lua). */

type StreamEntry = [id: string, fields: string[]];

/** Turns XREVRANGE's reply (asked for `limit + 1` entries) into a page; the extra entry only says "more". */
export function historyPage(raw: unknown, limit: number): HistoryPage {
  const rows = raw as StreamEntry[];
  const entries = rows.slice(0, limit).map(historyEntry);
  return { entries, next: rows.length > limit ? rows[limit - 1][0] : null };
}

function historyEntry([id, fields]: StreamEntry): HistoryEntry {
  const f: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
  return {
    transferId: f.t,
    type: f.k as HistoryKind,
    amount: Number(f.a),
    counterparty: f.c || null,
    balance: Number(f.b),
    at: entryTime(id),
  };
}

/** XREVRANGE bounds: newest first, strictly below the cursor when there is one. */
export const historyStart = (cursor?: string): string => (cursor ? `(${cursor}` : '+');
