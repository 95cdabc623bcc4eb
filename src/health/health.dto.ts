import { ATOMIC_STRATEGIES } from '@kernel/core';
import { ApiField, ApiModels, SchemaDoc, schemaRef } from '@kernel/nest/http';

/** A Lua library in GET /health (documentation only). */
export class FunctionLibraryStatus {
  @ApiField({ type: 'string' }) library!: string;
  @ApiField({ type: 'string', nullable: true, description: 'The version loaded on the server; null when not loaded' }) version!: string | null;
  @ApiField({ type: 'string', description: 'The version this build ships' }) expected!: string;
}

/** One Redis node of GET /health: the server (standalone), or a master that owns slots (Redis Cluster). */
@ApiModels(FunctionLibraryStatus)
export class RedisNodeStatus {
  @ApiField({ type: 'string', description: '`host:port` as the service reaches it (a cluster: its slot table)' }) address!: string;
  @ApiField({ type: 'boolean', description: 'It answered PING within the probe\'s time' }) reachable!: boolean;
  @ApiField({
    type: 'array', items: schemaRef(FunctionLibraryStatus), required: false,
    description: 'functions strategy: each Lua library at the version this node holds (absent when unreachable)',
  })
  functions?: FunctionLibraryStatus[];
  @ApiField({ type: 'string', required: false, description: 'Why it is unreachable, or why a version could not be read' }) error?: string;
}

@ApiModels(FunctionLibraryStatus, RedisNodeStatus)
export class HealthResponse {
  @ApiField({ type: 'string', enum: ['ok', 'unavailable'] }) status!: string;
  @ApiField({ type: 'string', enum: ['memory', 'redis'] }) store!: string;
  @ApiField({ type: 'string', enum: [...ATOMIC_STRATEGIES] }) strategy!: string;
  @ApiField({
    type: 'array', items: schemaRef(FunctionLibraryStatus), required: false,
    description: 'functions strategy: each Lua library over the nodes that answered — this build\'s version when every one holds it, ' +
      'else the first differing version (null: missing on one)',
  })
  functions?: FunctionLibraryStatus[];
  @ApiField({
    type: 'array', items: schemaRef(RedisNodeStatus), required: false,
    description: 'redis store: the server, or every master of the Redis Cluster that owns slots',
  })
  nodes?: RedisNodeStatus[];
  @ApiField({ type: 'string', required: false, description: 'Which node is unreachable (or unreadable), and why' }) error?: string;
  @ApiField({ type: 'boolean', enum: [true], required: false, description: 'Present once a shutdown began (then 503)' }) draining?: true;
}

// ------------------------------------------------------------------------------------- terminus probes
const indicator = (extra: Record<string, SchemaDoc>): SchemaDoc => ({
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', enum: ['up', 'down'] }, ...extra },
  additionalProperties: false,
});
const message = { type: 'string', description: 'Why the indicator is down' };
/** What /health/ready checks, each a terminus indicator `{status: up|down, …}`. */
const READY_INDICATORS: SchemaDoc = {
  type: 'object',
  properties: {
    shutdown: indicator({ message: { type: 'string', enum: ['draining'] } }),
    redis: indicator({
      strategy: { type: 'string', enum: [...ATOMIC_STRATEGIES] },
      nodes: {
        type: 'array',
        description: 'The server, or every master of the Redis Cluster that owns slots',
        items: {
          type: 'object',
          required: ['address', 'reachable'],
          properties: {
            address: { type: 'string', description: '`host:port`' },
            reachable: { type: 'boolean' },
            message: { type: 'string', description: 'Why it is unreachable' },
          },
          additionalProperties: false,
        },
      },
      message,
    }),
    functions: indicator({
      libraries: {
        type: 'object',
        description: 'functions strategy: each Lua library, by name',
        additionalProperties: {
          type: 'object',
          required: ['version', 'expected'],
          properties: {
            version: { type: 'string', nullable: true, description: 'The version loaded on the server; null when not loaded' },
            expected: { type: 'string', description: 'The version this build ships' },
          },
          additionalProperties: false,
        },
      },
      nodes: {
        type: 'object',
        description: 'functions strategy: per node that answered (`host:port`), each library\'s version there (null: not loaded)',
        additionalProperties: { type: 'object', additionalProperties: { type: 'string', nullable: true } },
      },
      message,
    }),
  },
  additionalProperties: false,
};
const indicators = (description: string): SchemaDoc => ({ ...READY_INDICATORS, description });
const NOTHING: SchemaDoc = { type: 'object', properties: {}, additionalProperties: false, description: 'Liveness checks nothing but the process' };

/** The body of GET /health/live (@nestjs/terminus). */
export class LivenessResponse {
  @ApiField({ type: 'string', enum: ['ok'] }) status!: string;
  @ApiField(NOTHING) info!: Record<string, never>;
  @ApiField(NOTHING) error!: Record<string, never>;
  @ApiField(NOTHING) details!: Record<string, never>;
}

/** The body of GET /health/ready when ready (@nestjs/terminus). */
export class ReadinessResponse {
  @ApiField({ type: 'string', enum: ['ok'] }) status!: string;
  @ApiField(indicators('The indicators that are up')) info!: Record<string, unknown>;
  @ApiField(indicators('The indicators that are down (none)')) error!: Record<string, unknown>;
  @ApiField(indicators('Every indicator')) details!: Record<string, unknown>;
}

/**
 * The body of GET /health/ready when not ready: terminus' body with the service's `statusCode` and `code`
 * (NOT_READY; SHUTTING_DOWN when a drain began while the probe ran).
 */
export const NOT_READY_SCHEMA: SchemaDoc = {
  type: 'object',
  required: ['statusCode', 'code', 'status', 'info', 'error', 'details'],
  properties: {
    statusCode: { type: 'integer', enum: [503] },
    code: { type: 'string', enum: ['NOT_READY', 'SHUTTING_DOWN'] },
    status: { type: 'string', enum: ['error'] },
    info: indicators('The indicators that are up'),
    error: indicators('The indicators that are down'),
    details: indicators('Every indicator'),
  },
  additionalProperties: false,
};
