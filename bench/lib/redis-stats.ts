import type Redis from 'ioredis';
import { closedLoopSample, LoadOptions, LoadResult, Operation, Sample, summarize } from './measure';

/** INFO parsing and "what did the server spend" around a load phase. Only ever used on the bench's private server. */

export async function info(client: Redis, section: string): Promise<Record<string, string>> {
  const text = await client.info(section);
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export interface CommandStat {
  calls: number;
  usec: number;
  usecPerCall: number;
  /** Calls that returned an error (Redis 7: failed_calls). */
  failedCalls?: number;
}

/** `INFO commandstats` as { fcall: {calls, usec, usecPerCall}, … }; commands run inside Lua are counted too. */
export async function commandStats(client: Redis): Promise<Record<string, CommandStat>> {
  const stats: Record<string, CommandStat> = {};
  for (const [name, value] of Object.entries(await info(client, 'commandstats'))) {
    const fields = Object.fromEntries(value.split(',').map((kv) => kv.split('=')));
    stats[name.replace(/^cmdstat_/, '')] = {
      calls: Number(fields.calls),
      usec: Number(fields.usec),
      usecPerCall: Number(fields.usec_per_call),
      failedCalls: fields.failed_calls === undefined ? undefined : Number(fields.failed_calls),
    };
  }
  return stats;
}

/** User + system CPU seconds of the redis-server process so far. */
export async function serverCpuSec(client: Redis): Promise<number> {
  const cpu = await info(client, 'cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}

export async function usedMemory(client: Redis): Promise<number> {
  return Number((await info(client, 'memory')).used_memory);
}

export async function redisVersion(client: Redis): Promise<string> {
  return (await info(client, 'server')).redis_version;
}

export interface ServerLoadResult extends LoadResult {
  /** Commandstats of the measured phase(s) alone (CONFIG RESETSTAT after each warm-up). */
  commands: Record<string, CommandStat>;
  /** redis-server CPU per operation (successful or failed), from INFO cpu. */
  serverCpuUsPerOp: number;
}

interface ServerSample {
  sample: Sample;
  commands: Record<string, CommandStat>;
  cpuSec: number;
}

/** A closed loop whose measured phase is bracketed by CONFIG RESETSTAT and INFO commandstats / cpu. */
export async function loadOnServer(admin: Redis, op: Operation, options: LoadOptions): Promise<ServerLoadResult> {
  return merge([await sampleOnServer(admin, op, options)]);
}

/**
 * A/B comparison in the order A B B A (each segment a closed loop with its own warm-up and its own
 * commandstats), so a drift of the machine during the comparison hits both sides equally.
 */
export async function abbaOnServer(admin: Redis, a: Operation, b: Operation, options: LoadOptions):
  Promise<[ServerLoadResult, ServerLoadResult]> {
  const segment = { ...options, durationMs: options.durationMs / 2, warmupMs: (options.warmupMs ?? 0) / 2 };
  const a1 = await sampleOnServer(admin, a, segment);
  const b1 = await sampleOnServer(admin, b, segment);
  const b2 = await sampleOnServer(admin, b, segment);
  const a2 = await sampleOnServer(admin, a, segment);
  return [merge([a1, a2]), merge([b1, b2])];
}

async function sampleOnServer(admin: Redis, op: Operation, options: LoadOptions): Promise<ServerSample> {
  let cpuBefore = 0;
  const sample = await closedLoopSample(op, {
    ...options,
    beforeMeasure: async () => {
      await options.beforeMeasure?.();
      await admin.config('RESETSTAT');
      cpuBefore = await serverCpuSec(admin);
    },
  });
  const cpuSec = (await serverCpuSec(admin)) - cpuBefore;
  const commands = await commandStats(admin);
  for (const ours of ['config|resetstat', 'info']) delete commands[ours];
  return { sample, commands, cpuSec };
}

function merge(samples: ServerSample[]): ServerLoadResult {
  const result = summarize(samples.map((s) => s.sample));
  const commands: Record<string, CommandStat> = {};
  for (const { commands: stats } of samples) {
    for (const [name, { calls, usec }] of Object.entries(stats)) {
      const sum = (commands[name] ??= { calls: 0, usec: 0, usecPerCall: 0 });
      sum.calls += calls;
      sum.usec += usec;
      sum.usecPerCall = sum.usec / sum.calls;
    }
  }
  const ops = result.ok + result.failed;
  const cpuSec = samples.reduce((n, s) => n + s.cpuSec, 0);
  return { ...result, commands, serverCpuUsPerOp: ops ? (cpuSec * 1e6) / ops : NaN };
}

/** "hmget 2×1.13 · type 2×0.78 · …" — calls per outer call × µs per call, from commandstats. */
export function innerSummary(commands: Record<string, CommandStat>, outer = 'fcall'): string {
  const calls = commands[outer]?.calls;
  if (!calls) return '';
  return Object.entries(commands).filter(([name]) => name !== outer)
    .map(([name, s]) => `${name} ${+(s.calls / calls).toFixed(1)}×${s.usecPerCall.toFixed(2)}`).join(', ') + ' µs';
}
