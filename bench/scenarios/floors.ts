import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Redis from 'ioredis';
import { BenchContext, loadOptions } from '../lib/context';
import { accountIds, accountKeys, BALANCE, benchLedger, populate, randomPair, randomTransfer } from '../lib/ledgers';
import { abbaOnServer, commandStats, innerSummary, loadOnServer, ServerLoadResult, serverCpuSec } from '../lib/redis-stats';

/**
 * 2. Floors: how close the functions strategy gets to what cannot be beaten.
 *  (a) the port vs a bare ioredis loop calling our accounts_transfer FCALL with the same arguments (A B B A);
 *  (b) server time per call (commandstats usec_per_call, CONFIG RESETSTAT before each run, each run alone) of
 *      accounts_transfer vs bench_minimal_transfer (bench/minimal.lua), with an ablation ladder in between;
 *  (c) redis-benchmark, pipelined, on our FCALL: the server's own limit.
 */
const SCENARIO = 'floors';
const run = promisify(execFile);

export async function floors(ctx: BenchContext): Promise<void> {
  await portVsBare(ctx);
  await serverTimeLadder(ctx);
  await redisBenchmark(ctx);
}

/** FCALL accounts_transfer with exactly the adapter's KEYS and ARGV (lua/accounts.lua header). */
function fcallTransfer(client: Redis, fn: string, ledger: string, ids: readonly string[]) {
  const keys = accountKeys(ledger);
  return () => {
    const [from, to] = randomPair(ids);
    return client.call('FCALL', fn, 4, keys.account(from), keys.account(to), keys.history(from), keys.history(to),
      1, '', randomUUID(), 1000, from, to);
  };
}

async function portVsBare(ctx: BenchContext): Promise<void> {
  const ids = accountIds('a', 10_000);
  const ledger = 'floor';
  const bench = await benchLedger('functions', ctx.server.url, ledger);
  const bare = ctx.server.client(); // plain ioredis defaults: one connection, no auto-pipelining
  try {
    await populate(ctx.admin, ledger, ids);
    for (const concurrency of ctx.concurrencies) {
      const [port, raw] = await abbaOnServer(ctx.admin, () => bench.ledger.transfer(randomTransfer(ids)),
        fcallTransfer(bare, 'accounts_transfer', ledger, ids), loadOptions(ctx, concurrency, 2));
      ctx.report.load(SCENARIO, `(a) port functions c${concurrency}`, port, costs(port));
      ctx.report.load(SCENARIO, `(a) bare ioredis FCALL c${concurrency}`, raw, costs(raw));
      ctx.report.target({
        scenario: SCENARIO, name: `(a) functions port / bare FCALL c${concurrency}`, value: port.opsPerSec / raw.opsPerSec,
        op: '>=', target: 0.8, unit: 'x',
        detail: `Node CPU ${port.nodeCpuUsPerOp.toFixed(1)} vs ${raw.nodeCpuUsPerOp.toFixed(1)} µs/op (A B B A)`,
      });
    }
  } finally {
    bare.disconnect();
    await bench.close();
  }
}

interface Step {
  name: string;
  fn: string;
  /** Quick runs keep only the two ends of the ladder. */
  quick: boolean;
  hot: boolean;
}

const LADDER: Step[] = [
  { name: 'minimal: GET, DECRBY, INCRBY on strings', fn: 'bench_minimal_transfer', quick: true, hot: true },
  { name: '+ hashes: 2 HMGET, 2 HINCRBY', fn: 'bench_step_hashes', quick: false, hot: false },
  { name: '+ 2 TYPE checks', fn: 'bench_step_types', quick: false, hot: true },
  { name: '+ 2 XADD, no cap', fn: 'bench_step_xadd', quick: false, hot: false },
  { name: '+ 2 XADD MAXLEN ~ 1000', fn: 'bench_step_xadd_approx', quick: false, hot: true },
  { name: '+ 2 XADD MAXLEN = 1000 (exact)', fn: 'bench_step_xadd_exact', quick: false, hot: true },
  { name: 'ours: accounts_transfer', fn: 'accounts_transfer', quick: true, hot: true },
];

async function serverTimeLadder(ctx: BenchContext): Promise<void> {
  await ctx.admin.call('FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(__dirname, '..', 'minimal.lua'), 'utf8'));
  await ctx.admin.call('FUNCTION', 'LOAD', 'REPLACE', readFileSync(join(ctx.root, 'lua', 'accounts.lua'), 'utf8'));
  const client = ctx.server.client();
  const concurrency = ctx.concurrencies[0];
  // Each step runs alone (RESETSTAT before it); steps take turns over several rounds so that a drift of the
  // machine hits all of them, and each reports its median round.
  const rounds = ctx.quick ? 1 : 3;
  try {
    for (const contention of ['low', 'hot'] as const) {
      const ids = contention === 'low' ? accountIds('a', 10_000) : accountIds('h', 8);
      const steps = LADDER.filter((step) => (ctx.quick ? step.quick : true) && (contention === 'low' || step.hot));
      const ops = new Map<Step, () => Promise<unknown>>();
      for (const step of steps) {
        const ledger = `f${contention}${LADDER.indexOf(step)}`; // every step on its own fresh keys
        if (step.fn === 'bench_minimal_transfer') {
          const key = (id: string) => `bm:{${ledger}}:${id}`;
          await ctx.admin.mset(...ids.flatMap((id) => [key(id), BALANCE]));
          ops.set(step, () => {
            const [from, to] = randomPair(ids);
            return client.call('FCALL', step.fn, 2, key(from), key(to), 1);
          });
        } else {
          await populate(ctx.admin, ledger, ids);
          ops.set(step, fcallTransfer(client, step.fn, ledger, ids));
        }
      }
      const runs = new Map<Step, ServerLoadResult[]>(steps.map((step) => [step, []]));
      for (let round = 0; round < rounds; round++) {
        for (const step of steps) {
          runs.get(step)!.push(await loadOnServer(ctx.admin, ops.get(step)!, loadOptions(ctx, concurrency, ctx.quick ? 0.6 : 0.3)));
        }
      }
      const median = new Map<Step, ServerLoadResult>();
      let previous: number | undefined;
      for (const step of steps) {
        const sorted = runs.get(step)!.sort((a, b) => usecPerCall(a) - usecPerCall(b));
        const result = sorted[Math.floor(sorted.length / 2)];
        median.set(step, result);
        const usec = usecPerCall(result);
        const delta = previous === undefined ? '' : ` (${usec >= previous ? '+' : ''}${(usec - previous).toFixed(2)})`;
        previous = usec;
        ctx.report.load(SCENARIO, `(b) ${contention}: ${step.name}`, result,
          `fcall ${usec.toFixed(2)} µs/call${delta} · inside: ${innerSummary(result.commands)}`,
          { usecPerCallRounds: sorted.map(usecPerCall) });
      }
      const ours = usecPerCall(median.get(LADDER[LADDER.length - 1])!);
      const minimal = usecPerCall(median.get(LADDER[0])!);
      ctx.report.target({
        scenario: SCENARIO, name: `(b) server µs/call ours / minimal, ${contention} contention`, value: ours / minimal, op: '<=',
        target: 3, unit: 'x', detail: `${ours.toFixed(2)} vs ${minimal.toFixed(2)} µs/call (commandstats, c${concurrency}` +
          `${rounds > 1 ? `, median of ${rounds} rounds` : ''})`,
      });
    }
  } finally {
    client.disconnect();
  }
}

const usecPerCall = (r: ServerLoadResult) => r.commands.fcall?.usecPerCall ?? NaN;

const costs = (r: ServerLoadResult) =>
  `node ${r.nodeCpuUsPerOp.toFixed(1)} µs/op · redis ${r.serverCpuUsPerOp.toFixed(1)} µs/op · fcall ${r.commands.fcall?.usecPerCall.toFixed(1)} µs/call`;

async function redisBenchmark(ctx: BenchContext): Promise<void> {
  // redis-benchmark replaces each __rand_int__ independently with a 12-digit number below -r, so accounts
  // are named that way; source, target and history keys are drawn independently (the server does the same work).
  const ledger = 'rb';
  await populate(ctx.admin, ledger, Array.from({ length: 10_000 }, (_, i) => String(i).padStart(12, '0')));
  const key = (kind: string) => `ra:{${ledger}}:${kind}:__rand_int__`;
  const requests = ctx.quick ? 100_000 : 300_000;
  const args = ['-h', '127.0.0.1', '-p', String(ctx.server.port), '-c', '16', '-P', '16', '-n', String(requests), '-r', '10000', '--csv',
    'FCALL', 'accounts_transfer', '4', key('acct'), key('acct'), key('hist'), key('hist'), '1', '', 'rb-transfer', '1000', 'src', 'dst'];
  await ctx.admin.config('RESETSTAT');
  const cpu0 = await serverCpuSec(ctx.admin);
  let stdout: string;
  try {
    ({ stdout } = await run('redis-benchmark', args, { timeout: 60_000 }));
  } catch (err) {
    ctx.report.row({ scenario: SCENARIO, name: '(c) redis-benchmark', note: `failed: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  const cpu = (await serverCpuSec(ctx.admin)) - cpu0;
  const fcall = (await commandStats(ctx.admin)).fcall;
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const line = stdout.trim().split('\n').pop()!;
  const [, rps, , , p50, , p99] = line.split('","').map((s) => Number(s.replace(/"/g, '')));
  ctx.report.row({
    scenario: SCENARIO, name: '(c) redis-benchmark FCALL -c 16 -P 16', opsPerSec: rps, p50Ms: p50, p99Ms: p99,
    note: `fcall ${fcall?.usecPerCall.toFixed(2)} µs/call · redis ${((cpu * 1e6) / requests).toFixed(1)} µs/op · ${requests} requests`,
    data: { requests, csv: line, fcall, serverCpuUsPerOp: (cpu * 1e6) / requests },
  });
}
