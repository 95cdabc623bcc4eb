import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, IdempotencyOptions, idempotentCall, KernelErrorCode } from '@kernel/core';
import { execMulti, IdempotentDecision, idempotentWatch, RedisClient, WatchRunner } from '@kernel/redis';
import type { ConditionalStore, KvEntry, KvReceipt, KvTransaction, WriteOptions } from '../kv.port';
import { CheckedTransaction, keyNotFound, KvReader, keysOf, mustRead, planTransaction, receipt, requestOf } from '../kv-rules';
import { kvTransactionEvent } from '../events';
import type { KvKeys } from '../keys';
import { toEntry, toReceipt } from './redis-replies';

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per transaction:
 * - no conditions and only set / del / expire: a plain MULTI. Those commands cannot fail inside EXEC whatever the
 *   keys hold (SET and DEL take any type, EXPIRE on an absent key is a no-op), and nothing decides on a read;
 * - anything else — a condition, or an update that can fail (incrby / hincrby on a non-integer or past 2^53,
 *   hset / hdel / incrby on a key of the other type): WATCH every key the transaction names, read their types,
 *   string values, hash lengths and the named fields, plan the whole transaction on those reads
 *   (planTransaction, the Lua planner's twin), then MULTI the writes. EXEC has no rollback, so an update that
 *   would fail inside it is refused here, before any write; a watched key changing in between retries from
 *   the read (the WatchRunner's bounded, jittered retries, then CONFLICT);
 * - with an idempotency key, the record is watched, read and written in the same MULTI (idempotentWatch), so
 *   even a plain-MULTI transaction becomes a WATCH transaction (on the record alone);
 * - every applied transaction appends its kv.transaction event (XADD, MAXLEN ~) in the same MULTI; the stream's
 *   TYPE is read first (not watched: every transaction of the namespace appends to it, watching it would make
 *   them all conflict) so that an XADD that would fail inside EXEC is refused before any write;
 * - get: one MULTI of reads (TYPE, GET, HGETALL, PTTL), a consistent snapshot of one key.
 */
export class RedisTransactionsKv implements ConditionalStore {
  constructor(
    private readonly client: RedisClient,
    private readonly watch: WatchRunner,
    private readonly keys: KvKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  async transaction(raw: KvTransaction, options?: WriteOptions): Promise<KvReceipt> {
    const tx = raw as unknown as CheckedTransaction;
    const call = idempotentCall(this.keys.space.shard, options?.idempotencyKey, requestOf(tx), this.idempotency);
    const event = kvTransactionEvent(tx);
    const write = (m: ChainableCommander) => {
      this.queue(m, tx);
      m.xadd(this.keys.events, 'MAXLEN', '~', this.eventsMaxLen, '*', 'type', 'kv.transaction', 'data', event);
    };
    const values = [tx.updates.length];
    const recordKey = (digest: string) => this.keys.record(digest);
    if (!mustRead(tx)) {
      if (!call) {
        checkEventsType(this.keys.events, await this.client.type(this.keys.events).catch((err) => Promise.reject(decodeRedisError(err))));
        await execMulti(this.client, write);
        return receipt(tx.updates.length);
      }
      return idempotentWatch(this.watch, {
        call, recordKey, keys: [], read: async (c) => checkEventsType(this.keys.events, await c.type(this.keys.events)),
        decide: () => ({ values, write }), decode: toReceipt,
      });
    }
    return idempotentWatch(this.watch, {
      call, recordKey,
      keys: keysOf(tx).map((key) => this.keys.entry(key)),
      read: async (connection) => {
        const [reader, eventsType] = await Promise.all([this.read(connection, tx), connection.type(this.keys.events)]);
        checkEventsType(this.keys.events, eventsType);
        return reader;
      },
      decide: (reader): IdempotentDecision => {
        try {
          planTransaction(tx, reader);
        } catch (error) {
          if (error instanceof AtomicError) return { error };
          throw error;
        }
        return { values, write };
      },
      decode: toReceipt,
    });
  }

  async get(key: string): Promise<KvEntry> {
    const entry = this.keys.entry(key);
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await this.client.multi().type(entry).get(entry).call('HGETALL', entry).pttl(entry).exec();
    } catch (err) {
      throw decodeRedisError(err);
    }
    const [[, type], string, hash, [, pttl]] = replies!;
    if (type === 'none') throw keyNotFound(key);
    if (type === 'string') return toEntry(key, 'string', string[1], Number(pttl));
    return toEntry(key, String(type), hash[1], Number(pttl)); // another type: STORE_CORRUPTED
  }

  /** Everything the planner may ask, read on the WATCH connection after the WATCH (2 round trips). */
  private async read(connection: Redis, tx: CheckedTransaction): Promise<KvReader> {
    const names = keysOf(tx);
    const types = await Promise.all(names.map((name) => connection.type(this.keys.entry(name))));
    const fields = new Map<string, Set<string>>(names.map((name) => [name, new Set<string>()]));
    for (const item of [...tx.conditions, ...tx.updates]) if (item.field !== undefined) fields.get(item.key)!.add(item.field);
    const type = new Map(names.map((name, i) => [name, types[i]]));
    const value = new Map<string, string | null>();
    const length = new Map<string, number>();
    const field = new Map<string, string | null>();
    await Promise.all(names.map(async (name) => {
      const entry = this.keys.entry(name);
      if (type.get(name) === 'string') value.set(name, await connection.get(entry));
      else if (type.get(name) === 'hash') {
        const wanted = [...fields.get(name)!];
        const [len, got] = await Promise.all([connection.hlen(entry), wanted.length ? connection.hmget(entry, ...wanted) : []]);
        length.set(name, len);
        wanted.forEach((f, i) => field.set(`${name}\0${f}`, got[i]));
      }
    }));
    return {
      type: (name) => type.get(name) ?? 'none',
      value: (name) => value.get(name) ?? null,
      length: (name) => length.get(name) ?? 0,
      field: (name, f) => field.get(`${name}\0${f}`) ?? null,
    };
  }

  /** The planned updates as commands, in order (none of them can fail inside EXEC: the plan checked them). */
  private queue(m: ChainableCommander, tx: CheckedTransaction): void {
    for (const u of tx.updates) {
      const key = this.keys.entry(u.key);
      switch (u.op) {
        case 'set': m.set(key, u.value!); break;
        case 'incrby': m.incrby(key, u.by!); break;
        case 'del': m.del(key); break;
        case 'hset': m.hset(key, u.field!, u.value!); break;
        case 'hincrby': m.hincrby(key, u.field!, u.by!); break;
        case 'hdel': m.hdel(key, u.field!); break;
        case 'expire': m.expire(key, u.seconds!); break;
      }
    }
  }
}

/** XADD to a key of another type would fail inside EXEC after the updates applied: refuse it before. */
function checkEventsType(key: string, type: string): void {
  if (type !== 'stream' && type !== 'none') {
    throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, 'event log is not a stream', { key });
  }
}
