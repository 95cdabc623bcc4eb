import { KeySpace } from '../../libs/redis-atomic/src';

/**
 * The Inventory key schema, in the shop's hash slot (the shard, `{<shop>}`):
 *   <prefix>:{<shop>}:inventory:stock   ZSET   member = product id, score = stock (an integer below 2^53)
 *
 * One sorted set per shop, so "which products run low" is one ZRANGEBYSCORE. Orders' Redis adapters use this
 * schema too (src/orders/keys.ts): placing an order decrements stock in the same atomic step.
 */
export class InventoryKeys {
  constructor(readonly space: KeySpace) {}

  stock(): string {
    return this.space.key('inventory', 'stock');
  }
}
