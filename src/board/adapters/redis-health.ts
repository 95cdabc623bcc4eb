import { Cluster } from 'ioredis';
import type { FunctionLibraries } from '@kernel/nest';
import type { RedisClient } from '@kernel/redis';
import type { BoardHealth, BoardHealthReport, RedisNodeHealth } from '../board.port';

/** PING on every master (a cluster's each, a standalone Redis' one) and each Lua library's loaded version. Reads only. */
export class RedisBoardHealth implements BoardHealth {
  constructor(private readonly client?: RedisClient, private readonly libraries?: FunctionLibraries) {}

  async check(): Promise<BoardHealthReport> {
    if (!this.client) return { store: 'memory', nodes: [], libraries: [] };
    const masters = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const nodes = await Promise.all(masters.map(async (node): Promise<RedisNodeHealth> => {
      const name = `${node.options.host ?? '?'}:${node.options.port ?? '?'}`;
      try {
        await withTimeout(node.ping(), 1000);
        return { node: name, ok: true, role: 'master' };
      } catch (err) {
        return { node: name, ok: false, role: 'master', error: (err as Error).message };
      }
    }));
    try {
      const libraries = await Promise.all((this.libraries?.all() ?? []).map(async (library) => ({
        library: library.name, version: await withTimeout(library.loadedVersion(), 1000), expected: library.version,
      })));
      return { store: 'redis', nodes, libraries };
    } catch (err) {
      return { store: 'redis', nodes, libraries: [], error: (err as Error).message };
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
