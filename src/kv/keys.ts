import { KeySpace } from '@kernel/core';

/**
 * The conditional store's key schema, in the namespace's hash slot (`{<namespace>}`, default `{kv}`):
 *   <prefix>:{<namespace>}:kv:<key>          STRING or HASH   a logical key (an id: never `:`, `{}`, spaces)
 *   <prefix>:{<namespace>}:kv-idem:<hex>     STRING           idempotency record, with a TTL
 *   <prefix>:{<namespace>}:events            STREAM           the namespace's event log (kv.transaction)
 *
 * Logical keys only ever become `…:kv:<id>`: the store (and its HTTP endpoint) cannot name an account, an order,
 * a record or anything outside its own kind, even when the namespace equals a ledger's or a shop's name.
 */
export class KvKeys {
  constructor(readonly space: KeySpace) {}

  entry(key: string): string {
    return this.space.key('kv', key);
  }

  /** The namespace's event log (STREAM): one per shard. */
  get events(): string {
    return this.space.events;
  }

  record(digest: string): string {
    return this.space.key('kv-idem', digest);
  }
}
