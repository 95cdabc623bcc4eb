import type { RedisClient } from './connection';
import { decodeRedisError } from '../core/errors';
import { checkEventQuery, EventLogInfo, EventLogReader, EventPage, EventQuery, eventOf, page } from '../core/events';

/** XRANGE key (after + COUNT limit+1: one extra entry tells whether a next page exists. */
export class RedisEventLogReader implements EventLogReader {
  constructor(private readonly client: RedisClient, private readonly key: (shard: string) => string) {}

  async read(shard: string, query?: EventQuery): Promise<EventPage> {
    const { after, limit } = checkEventQuery(query);
    const entries = await this.client.xrange(this.key(shard), after ? `(${after}` : '-', '+', 'COUNT', limit + 1)
      .catch((err) => Promise.reject(decodeRedisError(err)));
    return page(entries.map(([id, fields]) => {
      const map = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i], fields[i + 1]);
      return eventOf(id, map.get('type') ?? '', map.get('data') ?? '{}');
    }), limit);
  }

  /** XINFO STREAM (Redis >= 7.0 reports `entries-added`); a stream never written is empty. */
  async info(shard: string): Promise<EventLogInfo> {
    let reply: unknown[];
    try {
      reply = (await this.client.call('XINFO', 'STREAM', this.key(shard))) as unknown[];
    } catch (err) {
      if (/no such key/i.test((err as Error).message)) return { length: 0, added: 0, firstId: null, lastId: null };
      throw decodeRedisError(err);
    }
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), reply[i + 1]);
    const entryId = (entry: unknown) => (Array.isArray(entry) ? String(entry[0]) : null);
    const length = Number(fields.get('length'));
    const added = fields.has('entries-added') ? Number(fields.get('entries-added')) : NaN;
    return { length, added: Number.isFinite(added) ? added : NaN, firstId: entryId(fields.get('first-entry')), lastId: entryId(fields.get('last-entry')) };
  }
}
