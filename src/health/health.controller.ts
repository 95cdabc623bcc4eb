import { Controller, Get, Inject, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import type Redis from 'ioredis';
import { ApiAtomicRoute, ApiGroup, FunctionLibraries, REDIS_CLIENT } from '@kernel/nest';
import { Drain } from './drain';
import { HealthResponse, LivenessResponse, NOT_READY_SCHEMA, ReadinessResponse } from './health.dto';

export const HEALTH_STRATEGY = Symbol('HEALTH_STRATEGY');

interface LibraryState { library: string; version: string | null; expected: string }

/**
 * Probes (@nestjs/terminus) that only look — they never load a library, never write:
 * - `GET /health/live`: the process answers (restart it when it does not);
 * - `GET /health/ready`: Redis answers, every Lua library is loaded at the version this build ships, and the
 *   service is not draining (send it traffic);
 * - `GET /health`: the summary of earlier versions (same body), ready or 503.
 * A library the server lost (restart without persistence, FUNCTION FLUSH) is reloaded by the next call that
 * needs it (FunctionLibrary), not by a probe; a library at another version (another build sharing the server)
 * is reported and left alone.
 */
@ApiGroup('operations')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(HEALTH_STRATEGY) private readonly strategy: string,
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly drain: Drain,
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: Redis,
    @Optional() private readonly libraries?: FunctionLibraries,
  ) {}

  @Get()
  @ApiAtomicRoute({
    summary: 'Readiness: Redis answers and every Lua library is loaded at this build\'s version',
    responses: [
      { status: 200, type: HealthResponse, description: 'Ready' },
      { status: 503, type: HealthResponse, description: 'Redis unreachable, a library missing or at another version, or draining' },
    ],
    validates: false,
    store: false,
  })
  async check(@Res({ passthrough: true }) reply: FastifyReply) {
    const draining = this.drain.draining ? { draining: true } : {};
    if (!this.redis) {
      if (this.drain.draining) reply.status(503);
      return { status: this.drain.draining ? 'unavailable' : 'ok', store: 'memory', strategy: this.strategy, ...draining };
    }
    try {
      const functions = await this.inspect();
      const ready = functions.every((f) => f.version === f.expected) && !this.drain.draining;
      if (!ready) reply.status(503);
      const body = { status: ready ? 'ok' : 'unavailable', store: 'redis', strategy: this.strategy, ...draining };
      return functions.length ? { ...body, functions } : body;
    } catch (err) {
      reply.status(503);
      return { status: 'unavailable', store: 'redis', strategy: this.strategy, ...draining, error: (err as Error).message };
    }
  }

  @Get('live')
  @ApiAtomicRoute({
    summary: 'Liveness: the process answers (restart it when it does not)',
    responses: [{ status: 200, type: LivenessResponse, description: 'Alive' }],
    validates: false,
    store: false,
  })
  live() {
    return this.health.check([]);
  }

  @Get('ready')
  @ApiAtomicRoute({
    summary: 'Readiness: Redis answers, every Lua library is loaded at this build\'s version, and the service is not draining',
    responses: [
      { status: 200, type: ReadinessResponse, description: 'Ready: send it traffic' },
      {
        status: 503, schema: NOT_READY_SCHEMA,
        description: '`NOT_READY`: Redis unreachable, a library missing or at another version · `SHUTTING_DOWN`: draining',
      },
    ],
    validates: false,
    store: false,
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    try {
      return await this.health.check([
        () => this.drain.draining ? this.indicator.check('shutdown').down({ message: 'draining' }) : this.indicator.check('shutdown').up(),
        ...(this.redis ? [() => this.redisIndicator(), () => this.functionsIndicator()] : []),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503);
      const code = this.drain.draining ? 'SHUTTING_DOWN' : 'NOT_READY';
      return { statusCode: 503, code, ...(err.getResponse() as object) };
    }
  }

  private async redisIndicator(): Promise<HealthIndicatorResult> {
    const redis = this.indicator.check('redis');
    try {
      await withTimeout(this.redis!.ping(), 1000);
      return redis.up({ strategy: this.strategy });
    } catch (err) {
      return redis.down({ message: (err as Error).message });
    }
  }

  private async functionsIndicator(): Promise<HealthIndicatorResult> {
    const functions = this.indicator.check('functions');
    try {
      const libraries = await this.inspect();
      const data = { libraries: Object.fromEntries(libraries.map((f) => [f.library, { version: f.version, expected: f.expected }])) };
      return libraries.every((f) => f.version === f.expected) ? functions.up(data) : functions.down(data);
    } catch (err) {
      return functions.down({ message: (err as Error).message });
    }
  }

  /** Redis answers, and the version of every library this app uses (null when not loaded). Reads only. */
  private async inspect(): Promise<LibraryState[]> {
    await withTimeout(this.redis!.ping(), 1000);
    return Promise.all((this.libraries?.all() ?? []).map(async (library) => ({
      library: library.name,
      version: await withTimeout(library.loadedVersion(), 1000),
      expected: library.version,
    })));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
