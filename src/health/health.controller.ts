import { Controller, Get, Inject, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { ApiAtomicRoute, ApiGroup, FunctionLibraries, REDIS_CLIENT } from '@kernel/nest';
import { inspectNodes, LibraryOnNode, NodeHealth, RedisClient } from '@kernel/redis';
import { Drain } from './drain';
import { HealthResponse, LivenessResponse, NOT_READY_SCHEMA, ReadinessResponse } from './health.dto';

export const HEALTH_STRATEGY = Symbol('HEALTH_STRATEGY');

/** How long a probe waits for each node's one round trip. */
const PROBE_TIMEOUT_MS = 1000;

/**
 * Probes (@nestjs/terminus) that only look — they never load a library, never write, open no connection:
 * - `GET /health/live`: the process answers (restart it when it does not);
 * - `GET /health/ready`: every Redis node the app depends on answers, every Lua library is loaded there at the
 *   version this build ships, and the service is not draining (send it traffic);
 * - `GET /health`: the summary, ready or 503, with each node (`nodes`).
 * The nodes are the server (standalone) or every master that owns slots (Redis Cluster; inspectNodes): one
 * pipelined round trip each (PING + one FCALL_RO per library) on the client's own connection. A cluster with a
 * master down or missing a library is not ready: operations on that master's slots would fail.
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
    @Optional() @Inject(REDIS_CLIENT) private readonly redis?: RedisClient,
    @Optional() private readonly libraries?: FunctionLibraries,
  ) {}

  @Get()
  @ApiAtomicRoute({
    summary: 'Readiness: every Redis node answers and holds every Lua library at this build\'s version; each node listed',
    responses: [
      { status: 200, type: HealthResponse, description: 'Ready' },
      {
        status: 503, type: HealthResponse,
        description: 'A Redis node (the server, or a cluster master) unreachable, a library missing or at another version on one, or draining',
      },
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
    const nodes = await this.inspect();
    const functions = libraryVersions(this.expected(), nodes);
    const problems = nodeProblems(nodes);
    const ready = problems.length === 0 && functions.every((f) => f.version === f.expected) && !this.drain.draining;
    if (!ready) reply.status(503);
    return {
      status: ready ? 'ok' : 'unavailable',
      store: 'redis',
      strategy: this.strategy,
      ...draining,
      ...(functions.length > 0 && nodes.some((n) => n.reachable) && { functions }),
      nodes,
      ...(problems.length > 0 && { error: problems.join('; ') }),
    };
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
    summary: 'Readiness: every Redis node answers, every Lua library is loaded on each at this build\'s version, and the service is not draining',
    responses: [
      { status: 200, type: ReadinessResponse, description: 'Ready: send it traffic' },
      {
        status: 503, schema: NOT_READY_SCHEMA,
        description: '`NOT_READY`: a Redis node (the server, or a cluster master) unreachable, a library missing or at another version on one · ' +
          '`SHUTTING_DOWN`: draining',
      },
    ],
    validates: false,
    store: false,
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const nodes = this.redis ? await this.inspect() : [];
    try {
      return await this.health.check([
        () => this.drain.draining ? this.indicator.check('shutdown').down({ message: 'draining' }) : this.indicator.check('shutdown').up(),
        ...(this.redis ? [() => this.redisIndicator(nodes), () => this.functionsIndicator(nodes)] : []),
      ]);
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      reply.status(503);
      const code = this.drain.draining ? 'SHUTTING_DOWN' : 'NOT_READY';
      return { statusCode: 503, code, ...(err.getResponse() as object) };
    }
  }

  /** Up when every node answered; each node's address and reachability either way. */
  private redisIndicator(nodes: NodeHealth[]): HealthIndicatorResult {
    const redis = this.indicator.check('redis');
    const list = nodes.map(({ address, reachable, error }) => ({ address, reachable, ...(!reachable && error && { message: error }) }));
    const problems = nodeProblems(nodes);
    return problems.length === 0
      ? redis.up({ strategy: this.strategy, nodes: list })
      : redis.down({ message: problems.join('; '), nodes: list });
  }

  /** Up when every reachable node holds every library at this build's version; the versions in all, and per node. */
  private functionsIndicator(nodes: NodeHealth[]): HealthIndicatorResult {
    const functions = this.indicator.check('functions');
    const reachable = nodes.filter((n) => n.reachable);
    if (reachable.length === 0) return functions.down({ message: 'no Redis node answered' });
    const versions = libraryVersions(this.expected(), reachable);
    const data = {
      libraries: Object.fromEntries(versions.map((f) => [f.library, { version: f.version, expected: f.expected }])),
      nodes: Object.fromEntries(reachable.map((n) => [n.address, Object.fromEntries((n.functions ?? []).map((f) => [f.library, f.version]))])),
    };
    return versions.every((f) => f.version === f.expected) ? functions.up(data) : functions.down(data);
  }

  private expected(): { name: string; version: string }[] {
    return (this.libraries?.all() ?? []).map(({ name, version }) => ({ name, version }));
  }

  /** Every node the app depends on, one pipelined round trip each. Reads only. */
  private inspect(): Promise<NodeHealth[]> {
    return inspectNodes(this.redis!, this.expected(), PROBE_TIMEOUT_MS);
  }
}

/**
 * Each library across the nodes that answered: this build's version when every one of them holds it, else the
 * first node's differing version (null: missing there) — as FunctionLibrary.loadedVersion does.
 */
function libraryVersions(libraries: { name: string; version: string }[], nodes: NodeHealth[]): LibraryOnNode[] {
  const reachable = nodes.filter((n) => n.reachable);
  return libraries.map(({ name, version: expected }) => {
    const versions = reachable.map((n) => n.functions?.find((f) => f.library === name)?.version ?? null);
    const version = versions.find((v) => v !== expected);
    return { library: name, version: version === undefined ? expected : version, expected };
  });
}

/** "host:port: why" for every node that did not answer or whose versions could not be read. */
function nodeProblems(nodes: NodeHealth[]): string[] {
  if (nodes.length === 0) return ['no Redis node is known (the cluster client has no slot table)'];
  return nodes.filter((n) => !n.reachable || n.error).map((n) => `${n.address}: ${n.error ?? 'unreachable'}`);
}
