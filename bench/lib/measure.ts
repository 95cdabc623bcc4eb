import { performance } from 'node:perf_hooks';

/**
 * A bounded closed-loop load generator: `concurrency` workers each run one operation at a time, back to back,
 * until the deadline (or `maxOps`). Every operation's latency is kept (a sorted array is the histogram), and
 * failures are counted by their error code. A phase that does not drain within `STALL_MS` after its deadline
 * is abandoned with an error, so no loop outlives its time budget.
 */

export type Operation = (worker: number) => Promise<unknown>;

export interface LoadOptions {
  concurrency: number;
  durationMs: number;
  /** Unrecorded phase first (JIT, connections, caches); it drains before the measured phase starts. */
  warmupMs?: number;
  /** Runs between the drained warm-up and the measured phase (e.g. CONFIG RESETSTAT). */
  beforeMeasure?: () => Promise<void>;
  maxOps?: number;
}

/** One measured phase, raw (mergeable). */
export interface Sample {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  latenciesMs: number[];
  /** CPU time of this Node process during the phase (load generator + the code under test). */
  nodeCpuUs: number;
}

export interface LoadResult {
  /** Successful operations per second (goodput). */
  opsPerSec: number;
  ok: number;
  failed: number;
  errors: Record<string, number>;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  nodeCpuUsPerOp: number;
}

const STALL_MS = 30_000;
const DEFAULT_MAX_OPS = 5_000_000;

export async function closedLoop(op: Operation, options: LoadOptions): Promise<LoadResult> {
  return summarize([await closedLoopSample(op, options)]);
}

export async function closedLoopSample(op: Operation, options: LoadOptions): Promise<Sample> {
  const { concurrency, warmupMs = 0, maxOps = DEFAULT_MAX_OPS } = options;
  if (warmupMs > 0) await phase(op, concurrency, warmupMs, maxOps);
  await options.beforeMeasure?.();
  return phase(op, concurrency, options.durationMs, maxOps);
}

async function phase(op: Operation, concurrency: number, durationMs: number, maxOps: number): Promise<Sample> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let started = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const deadline = start + durationMs;
  const worker = async (id: number) => {
    while (performance.now() < deadline && started < maxOps) {
      started++;
      const t0 = performance.now();
      try {
        await op(id);
        ok++;
      } catch (err) {
        const code = errorCode(err);
        errors[code] = (errors[code] ?? 0) + 1;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await withTimeout(Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i))), durationMs + STALL_MS,
    `load phase did not drain within ${STALL_MS} ms after its deadline`);
  const elapsedMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { ok, failed: latencies.length - ok, errors, elapsedMs, latenciesMs: latencies, nodeCpuUs: used.user + used.system };
}

export function summarize(samples: Sample[]): LoadResult {
  const ok = samples.reduce((n, s) => n + s.ok, 0);
  const failed = samples.reduce((n, s) => n + s.failed, 0);
  const elapsedMs = samples.reduce((n, s) => n + s.elapsedMs, 0);
  const errors: Record<string, number> = {};
  for (const s of samples) for (const [code, n] of Object.entries(s.errors)) errors[code] = (errors[code] ?? 0) + n;
  const sorted = Float64Array.from(samples.flatMap((s) => s.latenciesMs)).sort();
  const nodeCpuUs = samples.reduce((n, s) => n + s.nodeCpuUs, 0);
  return {
    opsPerSec: elapsedMs > 0 ? (ok * 1000) / elapsedMs : 0,
    ok,
    failed,
    errors,
    elapsedMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : NaN,
    nodeCpuUsPerOp: ok + failed > 0 ? nodeCpuUs / (ok + failed) : NaN,
  };
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && code) return code;
  return err instanceof Error ? err.name : 'UNKNOWN';
}

export function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
