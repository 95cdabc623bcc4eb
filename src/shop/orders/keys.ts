import { KeySpace } from '@kernel/core';
import { InventoryKeys } from '../inventory/keys';

/**
 * The Orders key schema. It lives in the shop's hash slot next to Inventory's keys — whose schema it uses —
 * because `place` and `cancel` change stock and orders in one atomic step:
 *   <prefix>:{<shop>}:inventory:stock          ZSET  Inventory's stock (member = product id, score = stock)
 *   <prefix>:{<shop>}:order:<id>               HASH  user, status, total, created (ms), items (JSON lines)
 *   <prefix>:{<shop>}:user-orders:<userId>     SET   the user's order ids (cancelled ones too)
 *   <prefix>:{<shop>}:user-stats:<userId>      HASH  totalOrders, totalSpent over non-cancelled orders
 *   <prefix>:{<shop>}:queue:pending            LIST  ids of pending orders: new ones LPUSHed, the oldest claimed from the right
 *   <prefix>:{<shop>}:queue:processing         LIST  ids of claimed orders (LMOVE from pending), until completed
 *   <prefix>:{<shop>}:shop-idem:<hex>          STRING Inventory's idempotency records: the shop's one key space
 */
export class OrderKeys {
  readonly inventory: InventoryKeys;

  constructor(readonly space: KeySpace) {
    this.inventory = new InventoryKeys(space);
  }

  /** The shop's event log (STREAM, Inventory's too): one stream per shard. */
  get events(): string {
    return this.inventory.events;
  }

  stock(): string {
    return this.inventory.stock();
  }

  record(digest: string): string {
    return this.inventory.record(digest);
  }

  order(id: string): string {
    return this.space.key('order', id);
  }

  userOrders(userId: string): string {
    return this.space.key('user-orders', userId);
  }

  userStats(userId: string): string {
    return this.space.key('user-stats', userId);
  }

  pending(): string {
    return this.space.key('queue', 'pending');
  }

  processing(): string {
    return this.space.key('queue', 'processing');
  }
}
