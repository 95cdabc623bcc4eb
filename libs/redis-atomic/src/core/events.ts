import { validationFailed } from './errors';

/**
 * The atomic event log (transactional outbox): one Redis stream PER SHARD, `<prefix>:{<shard>}:events`, in the
 * shard's hash slot, so a write and its event are one FCALL / one MULTI. Every committed mutation appends exactly
 * one entry, with two flat fields:
 *   type   e.g. `transfer.completed`
 *   data   JSON with exact integers (the Lua side writes numbers with %d)
 * The entry id is the server time in ms (and a sequence): `<ms>-<seq>`. Failed operations and idempotent
 * replays append nothing. The stream is capped with `XADD … MAXLEN ~ <maxLen>` (approximate trim).
 *
 * The memory strategy keeps the same log in process, one per shard, shared through MemoryStores.
 */

export interface StoredEvent {
  /** The stream entry id, `<ms>-<seq>`: a cursor for `after`. */
  id: string;
  type: string;
  /** Server time of the commit (from the entry id). */
  at: string;
  data: Record<string, unknown>;
}

export interface EventPage {
  events: StoredEvent[];
  /** The cursor of the next page (the last id of this one), or null when this page ends the stream. */
  next: string | null;
}

export interface EventQuery {
  /** An entry id, exclusive; absent = from the oldest entry kept. */
  after?: string;
  limit?: number;
}

export const DEFAULT_EVENTS_MAXLEN = 100_000;
export const EVENT_ID_PATTERN = /^\d{1,16}-\d{1,16}$/;
export const MAX_EVENTS_PAGE = 1000;

/**
 * What a shard's log holds: `length` entries now, `added` ever appended (Redis' `entries-added`, XINFO STREAM,
 * Redis >= 7.0). `added > length` means entries were trimmed (MAXLEN) or deleted: the log no longer starts at the
 * shard's first write. `firstId` / `lastId`: the oldest and newest entries kept (null when empty).
 */
export interface EventLogInfo {
  length: number;
  added: number;
  firstId: string | null;
  lastId: string | null;
}

/** Reads one shard's log: the same pages from every strategy. */
export interface EventLogReader {
  read(shard: string, query?: EventQuery): Promise<EventPage>;
  info(shard: string): Promise<EventLogInfo>;
}

export const EVENT_LOG_READER = Symbol('EVENT_LOG_READER');

export function checkEventQuery({ after, limit = 100 }: EventQuery = {}): { after?: string; limit: number } {
  if (after !== undefined && !EVENT_ID_PATTERN.test(after)) throw validationFailed('after must be a stream entry id <ms>-<seq>', { field: 'after' });
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE) {
    throw validationFailed(`limit must be an integer 1..${MAX_EVENTS_PAGE}`, { field: 'limit' });
  }
  return { after, limit };
}

export function eventOf(id: string, type: string, data: string): StoredEvent {
  return { id, type, at: new Date(Number(id.split('-')[0])).toISOString(), data: JSON.parse(data) as Record<string, unknown> };
}

export const page = (events: StoredEvent[], limit: number): EventPage =>
  ({ events: events.slice(0, limit), next: events.length > limit ? events[limit - 1].id : null });

