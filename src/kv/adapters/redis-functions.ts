import { IdempotencyOptions, idempotentCall } from '@kernel/core';
import { FunctionLibrary, idempotentFcall } from '@kernel/redis';
import type { ConditionalStore, KvEntry, KvReceipt, KvTransaction, WriteOptions } from '../kv.port';
import { CheckedTransaction, keysOf, requestOf } from '../kv-rules';
import { kvTransactionEvent } from '../events';
import type { KvKeys } from '../keys';
import { toEntry, toReceipt } from './redis-replies';

/**
 * A transaction is one FCALL of lua/kv.lua's kv_update_if_conditions_met: conditions, type and integer checks,
 * writes and the idempotency record run atomically on the server in one round trip. Every key the request names
 * is passed in KEYS (one hash tag); the request itself is JSON in ARGV, integers as strings. get is one FCALL_RO.
 */
export class RedisFunctionsKv implements ConditionalStore {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: KvKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
  ) {}

  transaction(raw: KvTransaction, options?: WriteOptions): Promise<KvReceipt> {
    const tx = raw as unknown as CheckedTransaction;
    const names = keysOf(tx);
    const k = (key: string) => names.indexOf(key) + 1;
    const conditions = tx.conditions.map((c) => ({ k: k(c.key), key: c.key, field: c.field, op: c.op, value: c.value }));
    const updates = tx.updates.map((u) => ({
      k: k(u.key), key: u.key, op: u.op, field: u.field, value: u.value,
      by: u.by === undefined ? undefined : String(u.by), seconds: u.seconds === undefined ? undefined : String(u.seconds),
    }));
    return idempotentFcall(this.lib, 'update_if_conditions_met', {
      call: idempotentCall(this.keys.space.shard, options?.idempotencyKey, requestOf(tx), this.idempotency),
      recordKey: (digest) => this.keys.record(digest),
      keys: [...names.map((name) => this.keys.entry(name)), this.keys.events],
      args: [JSON.stringify(conditions), JSON.stringify(updates), kvTransactionEvent(tx), this.eventsMaxLen],
      decode: toReceipt,
    });
  }

  async get(key: string): Promise<KvEntry> {
    const [type, value, pttl] = (await this.lib.callReadOnly('get', [this.keys.entry(key)], [key])) as [string, unknown, number];
    return toEntry(key, type, value, Number(pttl));
  }
}
