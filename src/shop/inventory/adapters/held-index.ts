import { decodeRedisError } from '@kernel/core';
import type { RedisClient } from '@kernel/redis';
import type { Reservation } from '../inventory.port';
import type { InventoryKeys } from '../keys';

/**
 * Both Redis inventories' listHeld: the shop's deadline index (ZRANGE BYSCORE, soonest first), each reservation's
 * product, then each read on its own by `get`; one gone meanwhile, released or consumed is left out.
 */
export async function listHeldFromIndex(client: RedisClient, keys: InventoryKeys, limit: number,
  get: (productId: string, id: string) => Promise<Reservation>): Promise<Reservation[]> {
  const ids = await client.zrange(keys.deadlines(), '-inf', '+inf', 'BYSCORE', 'LIMIT', 0, limit)
    .catch((err) => Promise.reject(decodeRedisError(err)));
  const views = await Promise.all(ids.map(async (id) => {
    const product = await client.hget(keys.reservation(id), 'product').catch((err) => Promise.reject(decodeRedisError(err)));
    return product === null ? null : get(product, id)
      .catch((err: { code?: string }) => (err.code === 'RESERVATION_NOT_FOUND' ? null : Promise.reject(err)));
  }));
  return views.filter((r): r is Reservation => r !== null && (r.status === 'held' || r.status === 'expired'));
}
