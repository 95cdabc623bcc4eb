import { Controller, Get, Inject, Optional, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type Redis from 'ioredis';
import { ApiAtomicRoute, ApiGroup, FunctionLibraries, REDIS_CLIENT } from '@kernel/nest';
import { HealthResponse } from './health.dto';

export const HEALTH_STRATEGY = Symbol('HEALTH_STRATEGY');

/**
 * Ready when Redis answers and every Lua library is loaded at the version this build ships. A library the
 * server lost (restart without persistence) is reloaded here, so health turns green again without a restart;
 * a library at another version (another build sharing the server) is reported as not ready, and left alone.
 */
@ApiGroup('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HEALTH_STRATEGY) private readonly strategy: string,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: Redis,
    @Optional() private readonly libraries?: FunctionLibraries,
  ) {}

  @Get()
  @ApiAtomicRoute({
    summary: 'Readiness: Redis answers and every Lua library is loaded at this build\'s version',
    responses: [
      { status: 200, type: HealthResponse, description: 'Ready' },
      { status: 503, type: HealthResponse, description: 'Redis unreachable, or a library missing or at another version' },
    ],
    validates: false,
    store: false,
  })
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    if (!this.redis) return { status: 'ok', store: 'memory', strategy: this.strategy };
    try {
      await withTimeout(this.redis.ping(), 1000);
      const functions = await Promise.all((this.libraries?.all() ?? []).map(async (library) => {
        let version = await library.loadedVersion();
        if (version === null) {
          // Lost (restart without persistence, FUNCTION FLUSH): reload. Another version is another build's
          // (rolling deploy): report it, never overwrite it from a health probe.
          await library.load().catch(() => undefined);
          version = await library.loadedVersion();
        }
        return { library: library.name, version, expected: library.version };
      }));
      const ready = functions.every((f) => f.version === f.expected);
      if (!ready) reply.status(503);
      const body = { status: ready ? 'ok' : 'unavailable', store: 'redis', strategy: this.strategy };
      return functions.length ? { ...body, functions } : body;
    } catch (err) {
      reply.status(503);
      return { status: 'unavailable', store: 'redis', strategy: this.strategy, error: (err as Error).message };
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
