import { IdempotencyOptions, idempotentCall } from '@kernel/core';
import { MemoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { kvTransactionEvent } from '../events';
import type { ConditionalStore, KvEntry, KvReceipt, KvTransaction, WriteOptions } from '../kv.port';
import { CheckedTransaction, keyNotFound, planTransaction, receipt, requestOf } from '../kv-rules';

type Entry = { type: 'string'; value: string; expiresAt?: number } | { type: 'hash'; value: Map<string, string>; expiresAt?: number };

/** One namespace's entries in process memory (the memory strategy's counterpart of its `kv:*` keys). */
export class MemoryKvData {
  readonly entries = new Map<string, Entry>();
}

export const memoryKvName = (namespace: string): string => `kv:${namespace}:entries`;
export const memoryKvRecordsName = (namespace: string): string => `kv:${namespace}:idempotency`;

/**
 * In-process conditional store with the same observable behaviour as the Redis adapters (same contract suite),
 * TTLs included (expired entries vanish when next looked at). Each transaction plans (planTransaction) and
 * applies synchronously — no `await` in between — so it is atomic on Node's single thread.
 */
export class MemoryKv implements ConditionalStore {
  constructor(
    private readonly data: MemoryKvData,
    private readonly records: MemoryIdempotency,
    private readonly namespace: string,
    private readonly idempotency: IdempotencyOptions,
    private readonly events: MemoryEventLog,
    private readonly eventsMaxLen: number,
  ) {}

  async transaction(raw: KvTransaction, options?: WriteOptions): Promise<KvReceipt> {
    const tx = raw as unknown as CheckedTransaction;
    const call = idempotentCall(this.namespace, options?.idempotencyKey, requestOf(tx), this.idempotency);
    return this.records.run(call, () => {
      planTransaction(tx, {
        type: (key) => this.live(key)?.type ?? 'none',
        value: (key) => (this.live(key)?.value as string | undefined) ?? null,
        length: (key) => (this.live(key)?.value as Map<string, string>).size,
        field: (key, field) => (this.live(key)?.value as Map<string, string>).get(field) ?? null,
      });
      for (const u of tx.updates) this.apply(u);
      this.events.append('kv.transaction', JSON.parse(kvTransactionEvent(tx)) as Record<string, unknown>, this.eventsMaxLen);
      return receipt(tx.updates.length);
    });
  }

  async get(key: string): Promise<KvEntry> {
    const entry = this.live(key);
    if (!entry) throw keyNotFound(key);
    const ttl = entry.expiresAt === undefined ? {} : { ttlSeconds: Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000)) };
    return entry.type === 'string'
      ? { key, type: 'string', value: entry.value, ...ttl }
      : { key, type: 'hash', value: Object.fromEntries(entry.value), ...ttl };
  }

  private live(key: string): Entry | undefined {
    const entry = this.data.entries.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.data.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** One planned update, as Redis would apply it (SET clears the TTL; the others keep it). */
  private apply(u: CheckedTransaction['updates'][number]): void {
    const entries = this.data.entries;
    const entry = this.live(u.key);
    switch (u.op) {
      case 'set': entries.set(u.key, { type: 'string', value: u.value! }); return;
      case 'del': entries.delete(u.key); return;
      case 'expire': if (entry) entry.expiresAt = Date.now() + u.seconds! * 1000; return;
      case 'incrby':
        if (entry?.type === 'string') entry.value = String(Number(entry.value) + u.by!);
        else entries.set(u.key, { type: 'string', value: String(u.by) });
        return;
      default: {
        const hash = entry?.type === 'hash' ? entry : { type: 'hash' as const, value: new Map<string, string>() };
        if (u.op === 'hset') hash.value.set(u.field!, u.value!);
        else if (u.op === 'hincrby') hash.value.set(u.field!, String(Number(hash.value.get(u.field!) ?? '0') + u.by!));
        else hash.value.delete(u.field!);
        if (hash.value.size === 0) entries.delete(u.key);
        else if (hash !== entry) entries.set(u.key, hash);
      }
    }
  }
}
