import { Cluster } from 'ioredis';
import type Redis from 'ioredis';

/**
 * A canonical text of every key and value on the server — or on every master of a cluster — (strings, hashes,
 * lists, sets, sorted sets, streams), for "nothing was written" assertions: equal snapshots before and after ⇒
 * no change.
 */
export async function keyspaceSnapshot(client: Redis | Cluster): Promise<string> {
  const keys = (await Promise.all((client instanceof Cluster ? client.nodes('master') : [client]).map(allKeys))).flat();
  keys.sort();
  const lines = await Promise.all(keys.map(async (key) => `${key} ${JSON.stringify(await valueOf(client, key))}`));
  return lines.join('\n');
}

/** Every key of one server (SCAN). */
export async function allKeys(client: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

async function valueOf(client: Redis | Cluster, key: string): Promise<unknown> {
  const type = await client.type(key);
  switch (type) {
    case 'string': return [type, await client.get(key)];
    case 'hash': return [type, Object.entries(await client.hgetall(key)).sort()];
    case 'list': return [type, await client.lrange(key, 0, -1)];
    case 'set': return [type, (await client.smembers(key)).sort()];
    case 'zset': return [type, await client.zrange(key, 0, -1, 'WITHSCORES')];
    case 'stream': return [type, await client.xrange(key, '-', '+')];
    default: return [type];
  }
}

/**
 * The contract check of every refusal: runs `action`, expects it to reject, and throws unless the whole
 * keyspace is exactly as before (Redis never rolls back, so a refused operation must not have written at all).
 * Resolves to the rejection, for assertions on its code.
 */
export async function refusedWithoutWrites(client: Redis | Cluster, action: () => Promise<unknown>): Promise<unknown> {
  const before = await keyspaceSnapshot(client);
  const outcome = await action().then((value) => ({ value }), (error: unknown) => ({ error }));
  if (!('error' in outcome)) throw new Error(`expected a refusal, got ${JSON.stringify(outcome.value)}`);
  const after = await keyspaceSnapshot(client);
  if (after !== before) throw new Error(`the refused operation wrote to Redis:\n--- before\n${before}\n--- after\n${after}`);
  return outcome.error;
}
