/** One page of a shard's event log (libs/redis-atomic/src/events.ts documents the stream). */
export interface EventView {
  /** The stream entry id `<ms>-<seq>`: pass it as `after` to read on. */
  id: string;
  type: string;
  /** Server time of the commit. */
  at: string;
  data: Record<string, unknown>;
}

export interface EventsPage {
  events: EventView[];
  next: string | null;
}

export interface EventsQuery {
  after?: string;
  limit?: number;
}

/**
 * What a stream holds: `length` entries kept, `added` ever appended (NaN when the server cannot tell: Redis < 7.0).
 * `added > length`: the oldest entries were trimmed (EVENTS_MAXLEN) or deleted.
 */
export interface EventsInfo {
  length: number;
  added: number;
  firstId: string | null;
  lastId: string | null;
}

/** Reads the event log of a named stream (`ledger`, `shop`, `kv`: each the stream of that module's shard), or of any shard. */
export interface EventLog {
  streams(): string[];
  read(stream: string, query?: EventsQuery): Promise<EventsPage>;
  /** The log of the shard (ledger, shop or kv namespace) of this name; VALIDATION_FAILED (`field`) for a bad name. */
  readShard(shard: string, query?: EventsQuery, field?: string): Promise<EventsPage>;
  /** VALIDATION_FAILED for an unknown stream. */
  info(stream: string): Promise<EventsInfo>;
  /** What the log of a shard holds (as readShard: VALIDATION_FAILED (`field`) for a bad name). */
  infoShard(shard: string, field?: string): Promise<EventsInfo>;
  /** The shard (hash tag) whose log a stream name reads: two names on one shard read the same log. Undefined for an unknown name. */
  shardOf(stream: string): string | undefined;
}

export const EVENT_LOG = Symbol('EVENT_LOG');
