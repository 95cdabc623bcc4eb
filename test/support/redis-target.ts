import type Redis from 'ioredis';
import { keySlot } from '@kernel/core';
import { keyspaceSnapshot, RedisCluster, RedisServer } from '@kernel/testing';

/** Where a test's Redis strategies run: a private server, or a private local cluster (3 masters + 3 replicas). */
export type RedisTarget = RedisServer | RedisCluster;

export interface ShardAccess {
  /** A plain connection to the server — on a cluster, to the master owning the shard's slot, where all its keys live. */
  client: Redis;
  /** The whole keyspace as text: the server's, or every master's of the cluster. */
  snapshot(): Promise<string>;
  close(): void;
}

/** Test-side access to one shard (a shop, a kv namespace): its keys through `client`, the whole keyspace through `snapshot`. */
export async function shardAccess(target: RedisTarget, shard: string): Promise<ShardAccess> {
  if (target instanceof RedisServer) {
    const client = target.client();
    return { client, snapshot: () => keyspaceSnapshot(client), close: () => client.disconnect() };
  }
  const masters = await target.masters();
  const owner = await target.owner(keySlot(shard));
  const nodes = masters.sort((a, b) => a.port - b.port).map((m) => target.nodeClient(m.port));
  const client = nodes[masters.findIndex((m) => m.port === owner.port)];
  return {
    client,
    snapshot: async () => (await Promise.all(nodes.map((node) => keyspaceSnapshot(node)))).filter(Boolean).join('\n'),
    close: () => nodes.forEach((node) => node.disconnect()),
  };
}

/** Calls of one command (INFO commandstats) on the server, or summed over the cluster's masters. */
export async function commandCalls(target: RedisTarget, command: string): Promise<number> {
  const ports = target instanceof RedisServer ? [target.port] : (await target.masters()).map((m) => m.port);
  let calls = 0;
  for (const port of ports) {
    const client = target instanceof RedisServer ? target.client() : target.nodeClient(port);
    try {
      const stats = await client.info('commandstats');
      calls += Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
    } finally {
      client.disconnect();
    }
  }
  return calls;
}
