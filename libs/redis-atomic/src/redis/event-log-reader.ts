import type { RedisClient } from './connection';
import { decodeRedisError } from '../core/errors';
import { checkEventQuery, EventLogReader, EventPage, EventQuery, eventOf, page } from '../core/events';

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
}

