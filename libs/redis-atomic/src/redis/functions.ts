import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis, { Cluster } from 'ioredis';
import { decodeRedisError } from '../core/errors';
import { singleSlot } from '../core/slots';
import type { RedisClient } from './connection';
import { durabilityOf, onSlotMaster, refreshSlots, waitForReplicas } from './durability';
import { assembleLibrary } from './lua-source';
import type { AtomicObserver } from '../core/observer';

type Arg = string | number;

/**
 * One Lua library from `lua/<name>.lua`: loaded with FUNCTION LOAD REPLACE, versioned, and reloaded once when
 * the server answers "Function not found" (restarted without persistence, or FUNCTION FLUSH). That retry is
 * safe: a function that was not found did not run.
 *
 * Each library declares `local LIBRARY_VERSION = '…'` and registers a no-writes `<name>_version` function
 * returning it, so the loader can tell which version the server holds. `fromFile` assembles the body with its
 * prelude (redis/lua-source.ts): the version is then a hash of the assembled source.
 *
 * On a Redis Cluster every master needs the library (FCALL runs on the master owning the keys' slot; replicas get
 * it through replication): load / verify / loadedVersions go to every master that owns slots, and a master that
 * answers "Function not found" (a new master after resharding, one restarted without persistence) makes the
 * shared reload load it on every master again before the one retry.
 *
 * With `waitReplicas` (connection.ts) a writing FCALL is followed by WAIT on the same connection (durability.ts);
 * on a cluster the FCALL is then sent on the cluster's own connection to the slot's master so the WAIT can follow.
 */
export class FunctionLibrary {
  readonly version: string;
  /** Told of every load and reload (metrics). */
  observer?: AtomicObserver;
  private reloading?: Promise<void>;

  constructor(
    private readonly client: RedisClient,
    readonly name: string,
    private readonly source: string,
  ) {
    const header = /^#!lua name=(\w+)/.exec(source);
    const version = /LIBRARY_VERSION\s*=\s*'([^']+)'/.exec(source);
    if (header?.[1] !== name || !version) {
      throw new Error(`Lua library ${name}: must start with "#!lua name=${name}" and declare LIBRARY_VERSION`);
    }
    this.version = version[1];
  }

  static fromFile(client: RedisClient, name: string, luaDir = findLuaDir()): FunctionLibrary {
    return new FunctionLibrary(client, name, assembleLibrary(name, luaDir).source);
  }

  /** Loads (or replaces) the library on the server (every master of a cluster) and checks each reports this version. */
  async load(reason: 'load' | 'reload' = 'load'): Promise<void> {
    let ok = false;
    try {
      const nodes = await this.masters();
      await Promise.all(nodes.map(async (node) => {
        try {
          await node.call('FUNCTION', 'LOAD', 'REPLACE', this.source);
        } catch (err) {
          throw decodeRedisError(err);
        }
        const loaded = await this.versionOn(node);
        if (loaded !== this.version) {
          throw new Error(`Lua library ${this.name}: loaded version ${loaded}${where(node, this.client)}, expected ${this.version}`);
        }
      }));
      ok = true;
    } finally {
      this.observer?.library({ library: this.name, reason, ok });
    }
  }

  /**
   * For deployments where loading functions is a deploy-time right (the service's ACL user has FCALL but not
   * FUNCTION LOAD): checks the server holds this version, and says what to run when it does not.
   */
  async verify(): Promise<void> {
    for (const { node, version: loaded } of await this.loadedVersions()) {
      if (loaded !== this.version) {
        const cluster = this.client instanceof Cluster;
        throw new Error(`Lua library ${this.name}: the server${cluster ? ` ${node}` : ''} holds version ${loaded ?? 'none'}, ` +
          `this build needs ${this.version}; deploy it with: redis-atomic functions load (npm run functions -- load), or ` +
          `redis-cli ${cluster ? '-h <host> -p <port> (on every master) ' : ''}-x FUNCTION LOAD REPLACE < dist/functions/${this.name}.lua`);
      }
    }
  }

  /** Loads the library, or only verifies it when `load` is false. */
  prepare(load: boolean): Promise<void> {
    return load ? this.load() : this.verify();
  }

  /**
   * The version the server holds, or null when the library is not loaded. On a cluster: this build's version when
   * every master holds it, else the first master's differing version (or null) — see loadedVersions for each.
   */
  async loadedVersion(): Promise<string | null> {
    const versions = await this.loadedVersions();
    return (versions.find((v) => v.version !== this.version) ?? versions[0]).version;
  }

  /** The version each master holds (one entry, the server, when standalone), for health reports. */
  async loadedVersions(): Promise<{ node: string; version: string | null }[]> {
    const nodes = await this.masters();
    return Promise.all(nodes.map(async (node) => ({ node: address(node), version: await this.versionOn(node) })));
  }

  private async versionOn(node: Redis | Cluster): Promise<string | null> {
    try {
      return String(await node.call('FCALL_RO', `${this.name}_version`, 0));
    } catch (err) {
      if (isFunctionNotFound(err)) return null;
      throw decodeRedisError(err);
    }
  }

  /** The server, or every master of the cluster that owns slots (per a fresh slot table). */
  private async masters(): Promise<(Redis | Cluster)[]> {
    const client = this.client;
    if (!(client instanceof Cluster)) return [client];
    await refreshSlots(client);
    const owners = new Set(client.slots.map((nodes) => nodes?.[0]));
    const masters = client.nodes('master').filter((node) => owners.has(address(node)));
    if (masters.length === 0) throw decodeRedisError(new Error('CLUSTERDOWN no master of the cluster is reachable'));
    return masters;
  }

  /** FCALL, reloading the library once if the server lost it. Errors are decoded to typed errors. */
  call(fn: string, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    return this.invoke('FCALL', fn, keys, args);
  }

  /** FCALL_RO for functions flagged no-writes (may be served by replicas). */
  callReadOnly(fn: string, keys: readonly string[], args: readonly Arg[] = []): Promise<unknown> {
    return this.invoke('FCALL_RO', fn, keys, args);
  }

  private async invoke(command: string, fn: string, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const send = () => this.send(command, `${this.name}_${fn}`, keys, args);
    try {
      return await send();
    } catch (err) {
      if (!isFunctionNotFound(err)) throw decodeRedisError(err);
    }
    await this.reload();
    try {
      return await send();
    } catch (err) {
      throw decodeRedisError(err);
    }
  }

  /**
   * Under `waitReplicas`: makes a replayed outcome as durable as a fresh one. The record was written earlier,
   * maybe by another connection, and not necessarily replicated yet; re-setting its TTL is a write on this
   * connection after it, so the WAIT that follows counts the record too. A no-op without waitReplicas.
   */
  async confirm(key: string, ttlSeconds: number): Promise<void> {
    const durability = durabilityOf(this.client);
    if (!durability) return;
    try {
      if (this.client instanceof Cluster) {
        const { node } = await onSlotMaster(this.client, singleSlot([key]), (master) => master.expire(key, ttlSeconds));
        await waitForReplicas(node, durability);
      } else {
        await this.client.expire(key, ttlSeconds);
        await waitForReplicas(this.client, durability);
      }
    } catch (err) {
      throw decodeRedisError(err);
    }
  }

  /**
   * One FCALL / FCALL_RO. A writing FCALL under `waitReplicas` is followed by WAIT on the connection that ran it:
   * the shared connection standalone; on a cluster the client's connection to the slot's master, used directly.
   */
  private async send(command: string, name: string, keys: readonly string[], args: readonly Arg[]): Promise<unknown> {
    const durability = command === 'FCALL' ? durabilityOf(this.client) : undefined;
    if (!durability) return this.client.call(command, name, keys.length, ...keys, ...args);
    if (this.client instanceof Cluster) {
      const { node, value } = await onSlotMaster(this.client, singleSlot(keys),
        (master) => master.call(command, name, keys.length, ...keys, ...args));
      await waitForReplicas(node, durability);
      return value;
    }
    const value = await this.client.call(command, name, keys.length, ...keys, ...args);
    await waitForReplicas(this.client, durability);
    return value;
  }

  /** Concurrent callers that all found the library missing share one reload. */
  private reload(): Promise<void> {
    this.reloading ??= this.load('reload').finally(() => (this.reloading = undefined));
    return this.reloading;
  }
}

const address = (node: Redis | Cluster): string =>
  node instanceof Redis ? `${node.options.host}:${node.options.port}` : 'cluster';

const where = (node: Redis | Cluster, client: RedisClient): string => (client instanceof Cluster ? ` on ${address(node)}` : '');

/** Also when ioredis gave up following a cluster redirection chain whose last reply was "Function not found". */
const isFunctionNotFound = (err: unknown): boolean =>
  err instanceof Error && /^(Too many Cluster redirections\. Last error: (\w*Error: )?)?ERR Function not found/.test(err.message);

/**
 * The package's `lua/` folder: beside the nearest package.json above this file — the repository's, or the
 * installed package's under node_modules — never the working directory, never a host app's own `lua/`.
 */
export function findLuaDir(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'lua');
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}
