import { KeySpace } from '@kernel/core';

/**
 * The Inventory key schema, in the shop's hash slot (the shard, `{<shop>}`):
 *   <prefix>:{<shop>}:inventory:stock   ZSET   member = product id, score = stock (an integer below 2^53)
 *   <prefix>:{<shop>}:inventory:held       HASH   field = product id, value = units held by live reservations
 *   <prefix>:{<shop>}:inventory:deadlines  ZSET   member = held reservation id, score = its expiry (ms, server clock)
 *   <prefix>:{<shop>}:reservation:<id>     HASH   product, quantity, status, created (ms), expires (ms), order ('-' or id)
 *   <prefix>:{<shop>}:shop-idem:<hex>   STRING idempotency record (key digest → fingerprint + outcome), with a TTL;
 *                                              shared by Inventory's and Orders' writes (one key space per shop), and
 *                                              named apart from Accounts' `idem` records, whose ledger may share the tag
 *
 * One sorted set per shop, so "which products run low" is one ZRANGEBYSCORE. Orders' Redis adapters use this
 * schema too (src/orders/keys.ts): placing an order decrements stock in the same atomic step.
 */
export class InventoryKeys {
  constructor(readonly space: KeySpace) {}

  stock(): string {
    return this.space.key('inventory', 'stock');
  }

  /** The shop's event log (STREAM): Inventory's and Orders' events, one stream per shard. */
  get events(): string {
    return this.space.events;
  }

  held(): string {
    return this.space.key('inventory', 'held');
  }

  /** The shop's deadline index: the sweeper's work list. */
  deadlines(): string {
    return this.space.key('inventory', 'deadlines');
  }

  reservation(id: string): string {
    return this.space.key('reservation', id);
  }

  record(digest: string): string {
    return this.space.key('shop-idem', digest);
  }
}
