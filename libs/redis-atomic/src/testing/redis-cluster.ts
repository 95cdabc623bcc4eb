import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis, { Cluster, ClusterOptions } from 'ioredis';
import { keySlot } from '../core/slots';
import { RedisServer } from './redis-server';

const run = promisify(execFile);

export interface RedisClusterOptions {
  /** Masters (each owns an even share of the 16384 slots). Default 3. */
  masters?: number;
  /** Replicas per master. Default 1. */
  replicas?: number;
  /**
   * `cluster-node-timeout`: how long a silent master takes to be failed over. Default 5000 ms: shorter ones make
   * nodes of a CPU-starved test machine suspect each other (cluster_state:fail, spurious failovers).
   */
  nodeTimeoutMs?: number;
}

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNodeInfo {
  id: string;
  address: string;
  port: number;
  role: 'master' | 'replica';
  /** The master's id, for a replica. */
  masterId?: string;
  failed: boolean;
  /** Slot ranges owned (masters), inclusive. */
  slots: [number, number][];
}

/**
 * A private, throw-away Redis Cluster for tests: `masters + masters × replicas` `redis-server --cluster-enabled yes`
 * processes on free ports (no persistence; cluster config files in a temp dir removed by `stop()`), joined with
 * `redis-cli --cluster create`. Ready when every node reports `cluster_state:ok`, all 16384 slots are covered and
 * every replica's link to its master is up. Nodes are stopped by PID; the shared Redis is never touched.
 */
export class RedisCluster {
  private readonly clients = new Set<Cluster | Redis>();

  private constructor(private readonly dir: string, private readonly servers: RedisServer[], private readonly nodeTimeoutMs: number) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const masters = options.masters ?? 3;
    const replicas = options.replicas ?? 1;
    const nodeTimeoutMs = options.nodeTimeoutMs ?? 5000;
    const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
    const servers: RedisServer[] = [];
    const cluster = new RedisCluster(dir, servers, nodeTimeoutMs);
    try {
      const started = await Promise.all(Array.from({ length: masters * (1 + replicas) }, () => RedisServer.start((port) => [
        '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir,
      ])));
      servers.push(...started);
      // redis-cli makes the first `masters` addresses masters and spreads the others over them as replicas.
      await run(process.env.REDIS_CLI_BIN ?? 'redis-cli', ['--cluster', 'create', ...cluster.nodes,
        '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 });
      await cluster.waitUntil('the cluster to be ready', async () => (await cluster.healthy()) &&
        (await cluster.topology()).filter((n) => n.role === 'replica' && !n.failed).length === masters * replicas &&
        (await cluster.replicasInSync()));
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** Seed list `127.0.0.1:<port>` of the nodes that are running. */
  get nodes(): string[] {
    return this.servers.filter((s) => s.pid !== undefined).map((s) => `127.0.0.1:${s.port}`);
  }

  /** An ioredis Cluster client (defaults as given), closed by `stop()`. */
  client(options: ClusterOptions = {}): Cluster {
    const client = new Cluster(this.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })), options);
    client.on('error', () => undefined); // faults are injected on purpose; callers see rejected commands
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  /** A plain connection to one node (by port), closed by `stop()`. */
  nodeClient(port: number): Redis {
    const client = new Redis({ host: '127.0.0.1', port, lazyConnect: false });
    client.on('error', () => undefined);
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  /** Every node as a running node sees them (`CLUSTER NODES`). */
  async topology(): Promise<ClusterNodeInfo[]> {
    for (const node of this.running()) {
      const text = await ask(node.port, 'CLUSTER', 'NODES').catch(() => null);
      if (typeof text === 'string') return parseClusterNodes(text);
    }
    throw new Error('no cluster node answers');
  }

  /** The masters that are up, with their slot ranges. */
  async masters(): Promise<ClusterNodeInfo[]> {
    return (await this.topology()).filter((n) => n.role === 'master' && !n.failed && n.slots.length > 0);
  }

  /** The master that owns a slot (or a key's slot). */
  async owner(slotOrKey: number | string): Promise<ClusterNodeInfo> {
    const slot = typeof slotOrKey === 'number' ? slotOrKey : keySlot(slotOrKey);
    const owner = (await this.masters()).find((m) => m.slots.some(([from, to]) => slot >= from && slot <= to));
    if (!owner) throw new Error(`no master owns slot ${slot}`);
    return owner;
  }

  /**
   * SIGKILLs the master owning a slot (or a key's slot) and resolves when one of its replicas was promoted, owns
   * the slot and every running node reports the cluster ok again. Resolves to the old and the new owner.
   * `whileDown` runs after the kill, before waiting for the failover (the master is down and not yet replaced).
   */
  async killMaster(slotOrKey: number | string, whileDown?: (killed: ClusterNodeInfo) => Promise<void>):
    Promise<{ killed: ClusterNodeInfo; promoted: ClusterNodeInfo }> {
    const killed = await this.owner(slotOrKey);
    const server = this.servers.find((s) => s.port === killed.port);
    if (!server) throw new Error(`no server on port ${killed.port}`);
    await server.kill();
    await whileDown?.(killed);
    let promoted: ClusterNodeInfo | undefined;
    await this.waitUntil(`a replica of ${killed.address} to take over`, async () => {
      const owner = await this.owner(slotOrKey).catch(() => undefined);
      if (!owner || owner.id === killed.id) return false;
      promoted = owner;
      return this.healthy();
    });
    return { killed, promoted: promoted! };
  }

  /**
   * A manual failover (`CLUSTER FAILOVER` on a replica of the slot's master): no data is lost, the old master
   * turns into a replica and keeps its client connections. Resolves when the replica owns the slot and the
   * cluster is ok.
   */
  async failover(slotOrKey: number | string): Promise<{ demoted: ClusterNodeInfo; promoted: ClusterNodeInfo }> {
    const demoted = await this.owner(slotOrKey);
    const replica = (await this.topology()).find((n) => n.role === 'replica' && n.masterId === demoted.id && !n.failed);
    if (!replica) throw new Error(`${demoted.address} has no replica to fail over to`);
    await ask(replica.port, 'CLUSTER', 'FAILOVER');
    let promoted: ClusterNodeInfo | undefined;
    await this.waitUntil(`${replica.address} to take over from ${demoted.address}`, async () => {
      const owner = await this.owner(slotOrKey).catch(() => undefined);
      if (owner?.id !== replica.id) return false;
      promoted = owner;
      return this.healthy();
    });
    return { demoted, promoted: promoted! };
  }

  /**
   * Starts a killed node again on its port with its cluster config file (its data is gone: no persistence). A
   * failed-over master rejoins as a replica of the node that replaced it; resolves when it is a replica in sync
   * and every node reports the cluster ok.
   */
  async restartNode(port: number): Promise<void> {
    const server = this.servers.find((s) => s.port === port);
    if (!server) throw new Error(`no server on port ${port}`);
    await server.restart();
    await this.waitUntil(`the node on port ${port} to rejoin as a replica`, async () => {
      const node = (await this.topology()).find((n) => n.port === port);
      return node?.role === 'replica' && !node.failed && (await this.replicasInSync()) && this.healthy();
    });
  }

  /**
   * Moves one slot, with its keys, to another master as `redis-cli --cluster reshard` does: IMPORTING on the
   * target, MIGRATING on the source, MIGRATE the keys in small batches (`between` runs after each batch, e.g. to
   * let load hit the half-moved slot), then SETSLOT NODE on every master.
   */
  async moveSlot(slot: number, toPort: number, between: () => Promise<void> = async () => undefined): Promise<void> {
    const masters = await this.masters();
    const source = await this.owner(slot);
    const target = masters.find((m) => m.port === toPort);
    if (!target) throw new Error(`no master on port ${toPort}`);
    if (target.id === source.id) return;
    await ask(target.port, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', source.id);
    await ask(source.port, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', target.id);
    for (;;) {
      const keys = (await ask(source.port, 'CLUSTER', 'GETKEYSINSLOT', String(slot), '5')) as string[];
      if (keys.length === 0) break;
      await ask(source.port, 'MIGRATE', '127.0.0.1', String(target.port), '', '0', '5000', 'KEYS', ...keys);
      await between();
    }
    for (const node of [target, source, ...masters.filter((m) => m.id !== source.id && m.id !== target.id)]) {
      await ask(node.port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', target.id);
    }
    await this.waitUntil(`slot ${slot} to be owned by ${target.address} everywhere`, async () =>
      (await this.owner(slot)).id === target.id && this.healthy());
  }

  /** Kills every node by PID, closes the clients, removes the cluster config files. */
  async stop(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    this.clients.clear();
    await Promise.all(this.servers.map((s) => s.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private running(): RedisServer[] {
    return this.servers.filter((s) => s.pid !== undefined);
  }

  /** Every running node: cluster_state ok with all slots assigned and ok. */
  private async healthy(): Promise<boolean> {
    const infos = await Promise.all(this.running().map((s) => ask(s.port, 'CLUSTER', 'INFO').catch(() => '')));
    return infos.every((info) => typeof info === 'string' && /cluster_state:ok/.test(info) &&
      /cluster_slots_ok:16384/.test(info));
  }

  private async replicasInSync(): Promise<boolean> {
    const infos = await Promise.all(this.running().map((s) => ask(s.port, 'INFO', 'replication').catch(() => '')));
    return infos.every((info) => typeof info === 'string' && (!/role:slave/.test(info) || /master_link_status:up/.test(info)));
  }

  private async waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + Math.max(60_000, this.nodeTimeoutMs * 20);
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** One command on a short-lived connection that never retries (nodes may be down on purpose). */
async function ask(port: number, ...args: string[]): Promise<unknown> {
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0,
    connectTimeout: 2000, commandTimeout: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.call(args[0], ...args.slice(1));
  } finally {
    client.disconnect();
  }
}

export function parseClusterNodes(text: string): ClusterNodeInfo[] {
  return text.trim().split('\n').filter(Boolean).map((line) => {
    const [id, addr, flags, master, , , , , ...slots] = line.trim().split(' ');
    const address = addr.split('@')[0];
    const flagSet = new Set(flags.split(','));
    return {
      id,
      address,
      port: Number(address.split(':').at(-1)),
      role: flagSet.has('master') ? 'master' : 'replica',
      masterId: master === '-' ? undefined : master,
      failed: flagSet.has('fail') || flagSet.has('noaddr'),
      slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
        const [from, to = from] = s.split('-').map(Number);
        return [from, to] as [number, number];
      }),
    };
  });
}
