import type { FunctionLibraries } from '@kernel/nest';
import { inspectNodes, RedisClient } from '@kernel/redis';
import type { BoardHealth, BoardHealthReport } from '../board.port';

/**
 * Every master (a cluster's each, per the client's slot table; a standalone Redis' one): PING and each Lua library's
 * loaded version there, in one round trip per node (the kernel's inspectNodes, as /health uses). Reads only.
 */
export class RedisBoardHealth implements BoardHealth {
  constructor(private readonly client?: RedisClient, private readonly libraries?: FunctionLibraries) {}

  async check(): Promise<BoardHealthReport> {
    if (!this.client) return { store: 'memory', nodes: [] };
    try {
      const libraries = (this.libraries?.all() ?? []).map((library) => ({ name: library.name, version: library.version }));
      const nodes = await inspectNodes(this.client, libraries, 1000);
      return {
        store: 'redis',
        nodes: nodes.map((n) => ({ node: n.address, ok: n.reachable, libraries: n.functions ?? [], ...(n.error && { error: n.error }) })),
      };
    } catch (err) {
      return { store: 'redis', nodes: [], error: (err as Error).message };
    }
  }
}
