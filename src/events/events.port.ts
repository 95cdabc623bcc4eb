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

/** Reads the event log of a named stream (`ledger`, `shop`, `kv`: each the stream of that module's shard), or of any shard. */
export interface EventLog {
  streams(): string[];
  read(stream: string, query?: EventsQuery): Promise<EventsPage>;
  /** The log of the shard (ledger, shop or kv namespace) of this name; VALIDATION_FAILED (`field`) for a bad name. */
  readShard(shard: string, query?: EventsQuery, field?: string): Promise<EventsPage>;
}

export const EVENT_LOG = Symbol('EVENT_LOG');
