import { Controller, DynamicModule, Get, Global, Inject, Injectable, Module, Optional, Res } from '@nestjs/common';
import type Redis from 'ioredis';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ATOMIC_OBSERVER, AtomicObserver, OperationEvent } from '../core/observer';
import { ApiAtomicRoute, ApiGroup } from './http/api-docs';
import type { HttpResponse } from './http/http-response';
import { REDIS_CLIENT } from './redis-atomic.module';

export interface AtomicMetricsOptions {
  /**
   * The prom-client registry to add the metrics to (your app's own, to serve them with yours). Default: a registry
   * of this module, served with the process' default metrics.
   */
  registry?: Registry;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop, GC). Default: true without `registry`. */
  defaultMetrics?: boolean;
  /** Mount `GET /metrics` (Prometheus text exposition). Default false. */
  http?: boolean;
  /** Latency buckets in seconds. */
  buckets?: number[];
}

const METRICS_OPTIONS = Symbol('REDIS_ATOMIC_METRICS_OPTIONS');
const DEFAULT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

type PromClient = typeof import('prom-client');

function promClient(): PromClient {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('prom-client') as PromClient;
  } catch {
    throw new Error('AtomicMetricsModule needs prom-client: npm install prom-client');
  }
}

/** prom-client's default process metrics, collected once per process however many apps it runs. */
let processRegistry: Registry | undefined;
function defaultMetricsRegistry(client: PromClient): Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    collectDefaultMetrics(client, processRegistry);
  }
  return processRegistry;
}

/**
 * prom-client's default metrics, minus three gauges named like counters (`nodejs_active_handles_total`…), which
 * `promtool check metrics` rejects; their per-type gauges (`nodejs_active_handles{type}`…) say the same.
 */
function collectDefaultMetrics(client: PromClient, registry: Registry): void {
  client.collectDefaultMetrics({ register: registry });
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
}

/**
 * The kernel's observer as Prometheus metrics (prom-client):
 * - `redis_atomic_operations_total{module,instance,operation,strategy,outcome}` — outcome `ok`, a business code,
 *   OUTCOME_UNKNOWN, STORE_UNAVAILABLE, VALIDATION_FAILED… or `error` (not ours);
 * - `redis_atomic_operation_duration_seconds{module,instance,operation,strategy}` (histogram);
 * - `redis_atomic_idempotent_replays_total{module,instance,operation,strategy}`;
 * - `redis_atomic_watch_attempts_total`, `…_watch_conflicts_total`, `…_watch_exhausted_total`;
 * - `redis_atomic_function_loads_total{library,reason=load|reload,result=ok|failed}`;
 * - `redis_atomic_redis_up` (1 when the shared connection is ready), `redis_atomic_redis_connects_total`.
 */
@Injectable()
export class AtomicMetrics implements AtomicObserver {
  readonly registry: Registry;
  private readonly operations: Counter<string>;
  private readonly durations: Histogram<string>;
  private readonly replays: Counter<string>;
  private readonly watchEvents: Record<'attempt' | 'conflict' | 'exhausted', Counter<string>>;
  private readonly loads: Counter<string>;
  private readonly withDefaults?: Registry;

  constructor(
    @Inject(METRICS_OPTIONS) options: AtomicMetricsOptions,
    @Optional() @Inject(REDIS_CLIENT) redis?: Redis,
  ) {
    const client = promClient();
    this.registry = options.registry ?? new client.Registry();
    if (options.defaultMetrics ?? !options.registry) {
      if (options.registry) collectDefaultMetrics(client, options.registry);
      else this.withDefaults = defaultMetricsRegistry(client);
    }
    const registers = [this.registry];
    const port = ['module', 'instance', 'operation', 'strategy'];
    this.operations = new client.Counter({
      name: 'redis_atomic_operations_total', help: 'Port operations by outcome (ok, or the error code)',
      labelNames: [...port, 'outcome'], registers,
    });
    this.durations = new client.Histogram({
      name: 'redis_atomic_operation_duration_seconds', help: 'Port operation latency, validation included',
      labelNames: port, buckets: options.buckets ?? DEFAULT_BUCKETS, registers,
    });
    this.replays = new client.Counter({
      name: 'redis_atomic_idempotent_replays_total', help: 'Operations answered with the outcome stored under their idempotency key',
      labelNames: port, registers,
    });
    this.watchEvents = {
      attempt: new client.Counter({ name: 'redis_atomic_watch_attempts_total', help: 'WATCH transaction attempts', registers }),
      conflict: new client.Counter({
        name: 'redis_atomic_watch_conflicts_total', help: 'WATCH attempts whose EXEC was aborted because a watched key changed', registers,
      }),
      exhausted: new client.Counter({
        name: 'redis_atomic_watch_exhausted_total', help: 'WATCH transactions that gave up after their retry budget (CONFLICT)', registers,
      }),
    };
    this.loads = new client.Counter({
      name: 'redis_atomic_function_loads_total', help: 'FUNCTION LOAD of a Lua library: at start (load) or after the server lost it (reload)',
      labelNames: ['library', 'reason', 'result'], registers,
    });
    if (redis) {
      const connects = new client.Counter({ name: 'redis_atomic_redis_connects_total', help: 'Connections (and reconnections) of the shared Redis client', registers });
      if (redis.status === 'ready') connects.inc();
      redis.on('ready', () => connects.inc());
      new client.Gauge({
        name: 'redis_atomic_redis_up', help: '1 when the shared Redis connection is ready, else 0', registers,
        collect(this: Gauge) {
          this.set(redis.status === 'ready' ? 1 : 0);
        },
      });
    }
  }

  operation(event: OperationEvent): void {
    const labels = { module: event.module, instance: event.instance, operation: event.operation, strategy: event.strategy };
    this.operations.inc({ ...labels, outcome: event.outcome });
    this.durations.observe(labels, event.seconds);
    if (event.replayed) this.replays.inc(labels);
  }

  watch(event: 'attempt' | 'conflict' | 'exhausted'): void {
    this.watchEvents[event].inc();
  }

  library(event: { library: string; reason: 'load' | 'reload'; ok: boolean }): void {
    this.loads.inc({ library: event.library, reason: event.reason, result: event.ok ? 'ok' : 'failed' });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition: these metrics, and the process' default metrics when they are collected here. */
  async metrics(): Promise<string> {
    const own = await this.registry.metrics();
    return this.withDefaults ? `${await this.withDefaults.metrics()}\n${own}` : own;
  }
}

/** The media type of Prometheus' text exposition format, as prom-client's registry answers it. */
export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4';

@ApiGroup('operations')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: AtomicMetrics) {}

  @Get()
  @ApiAtomicRoute({
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description: 'Port operations by module, operation, strategy and outcome; latency; idempotent replays; WATCH attempts, ' +
      'conflicts and exhausted retries; Lua library loads; the Redis connection; and the process\' default metrics.',
    responses: [{
      status: 200, contentType: PROMETHEUS_TEXT, description: 'The exposition (`text/plain; version=0.0.4; charset=utf-8`)',
      schema: { type: 'string', description: '`# HELP` / `# TYPE` lines and `name{labels} value` samples' },
    }],
    validates: false,
    store: false,
  })
  async scrape(@Res({ passthrough: true }) response: HttpResponse): Promise<string> {
    response.header('Content-Type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}

/**
 * Opt-in metrics for every module of the app: import once (global); each port the feature-module recipe creates is
 * then measured (one generic wrapper), and so are WATCH transactions and library loads.
 *
 *   AtomicMetricsModule.forRoot({ http: true })                      // GET /metrics
 *   AtomicMetricsModule.forRoot({ registry: myRegistry })            // into your own prom-client registry
 */
@Global()
@Module({})
export class AtomicMetricsModule {
  static forRoot(options: AtomicMetricsOptions = {}): DynamicModule {
    return {
      module: AtomicMetricsModule,
      providers: [
        { provide: METRICS_OPTIONS, useValue: options },
        AtomicMetrics,
        { provide: ATOMIC_OBSERVER, useExisting: AtomicMetrics },
      ],
      controllers: options.http ? [MetricsController] : [],
      exports: [AtomicMetrics, ATOMIC_OBSERVER],
    };
  }
}
