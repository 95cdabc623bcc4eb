import Redis, { Cluster } from 'ioredis';
import type { RedisClient } from './connection';
import { refreshSlots } from './durability';

/** A Lua library as health reports it on one server: the version loaded there (null: not loaded) and this build's. */
export interface LibraryOnNode {
  library: string;
  version: string | null;
  expected: string;
}

/** One server (standalone) or one master that owns slots (cluster), as a probe saw it. */
export interface NodeHealth {
  /** `host:port` as the client knows it (the cluster's slot table, or the configured URL). */
  address: string;
  /** It answered PING within the probe's time. */
  reachable: boolean;
  /** Each library the app uses, at the version this node holds (absent when unreachable or no library is used). */
  functions?: LibraryOnNode[];
  /** Why it is unreachable, or why a version could not be read. */
  error?: string;
}

/**
 * Looks at every node the app depends on — the server, or every master that owns slots per the cluster client's
 * slot table — with ONE round trip each on the client's own connection to it: PING and `FCALL_RO <lib>_version`
 * per library, pipelined. Reads only: never loads a library, never writes, opens no connection.
 *
 * On a cluster, when an owner has no live connection (the client dropped it: the master died, or a failover
 * moved its slots) the slot table is refreshed once (CLUSTER SLOTS) and read again, so a finished failover shows
 * the new master rather than the dead one. A master that is down and not yet replaced stays in the table: it is
 * reported unreachable.
 */
export async function inspectNodes(client: RedisClient, libraries: readonly { name: string; version: string }[],
  timeoutMs = 1000): Promise<NodeHealth[]> {
  if (!(client instanceof Cluster)) return [await inspect(client, addressOf(client), libraries, timeoutMs)];
  let owners = slotOwners(client);
  if (owners.length === 0 || owners.some((owner) => !live(connectionTo(client, owner)))) {
    await withTimeout(refreshSlots(client), timeoutMs).catch(() => undefined);
    owners = slotOwners(client);
  }
  return Promise.all(owners.map((owner) => inspect(connectionTo(client, owner), owner, libraries, timeoutMs)));
}

/** The distinct masters of the client's slot table (`host:port`), in slot order. */
function slotOwners(cluster: Cluster): string[] {
  const owners = new Set<string>();
  for (const nodes of cluster.slots) if (nodes?.[0]) owners.add(nodes[0]);
  return [...owners];
}

const addressOf = (node: Redis): string => `${node.options.host}:${node.options.port}`;

function connectionTo(cluster: Cluster, address: string): Redis | undefined {
  return cluster.nodes('all').find((node) => addressOf(node) === address);
}

const live = (node: Redis | undefined): node is Redis => node !== undefined && node.status !== 'end' && node.status !== 'close';

async function inspect(node: Redis | undefined, address: string, libraries: readonly { name: string; version: string }[],
  timeoutMs: number): Promise<NodeHealth> {
  if (!live(node)) return { address, reachable: false, error: `no connection to ${address}` };
  let replies: [Error | null, unknown][];
  try {
    const pipeline = node.pipeline().ping();
    for (const library of libraries) pipeline.call('FCALL_RO', `${library.name}_version`, 0);
    replies = (await withTimeout(pipeline.exec(), timeoutMs)) ?? [];
  } catch (err) {
    return { address, reachable: false, error: (err as Error).message };
  }
  const [pingError] = replies[0] ?? [new Error('no reply')];
  if (pingError) return { address, reachable: false, error: pingError.message };
  const errors: string[] = [];
  const functions = libraries.map((library, i) => {
    const [err, version] = replies[i + 1] ?? [new Error('no reply'), null];
    if (err && !/Function not found/.test(err.message)) errors.push(`${library.name}: ${err.message}`);
    return { library: library.name, version: err ? null : String(version), expected: library.version };
  });
  return {
    address,
    reachable: true,
    ...(libraries.length > 0 && { functions }),
    ...(errors.length > 0 && { error: errors.join('; ') }),
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
