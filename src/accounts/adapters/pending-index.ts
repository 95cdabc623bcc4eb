import { decodeRedisError } from '@kernel/core';
import type { RedisClient } from '@kernel/redis';
import type { PendingTransfer } from '../accounts.port';
import type { AccountKeys } from '../keys';
import { stillOpen } from '../ledger-rules';

/**
 * Both Redis adapters' listPending: the ledger's deadline index (ZRANGE BYSCORE, soonest first), then each transfer
 * read on its own by `get`; one resolved (or gone) meanwhile is left out.
 */
export async function listPendingFromIndex(client: RedisClient, keys: AccountKeys, limit: number,
  get: (id: string) => Promise<PendingTransfer>): Promise<PendingTransfer[]> {
  const ids = await client.zrange(keys.deadlines, '-inf', '+inf', 'BYSCORE', 'LIMIT', 0, limit)
    .catch((err) => Promise.reject(decodeRedisError(err)));
  const views = await Promise.all(ids.map((id) => get(id)
    .catch((err: { code?: string }) => (err.code === 'PENDING_TRANSFER_NOT_FOUND' ? null : Promise.reject(err)))));
  return views.filter(stillOpen);
}
