import autocannon from 'autocannon';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@kernel/testing';
import { BenchContext } from '../lib/context';
import { accountIds, populate, randomTransfer } from '../lib/ledgers';
import { withTimeout } from '../lib/measure';

/**
 * 3. HTTP, each server in a child process of its own so autocannon has its own event loop:
 *  - raw: a hand-written node:http + ioredis server doing the same FCALL (bench/raw-server.ts) — the floor;
 *  - app: the service (createApp + a bench-only no-op route, bench/http-server.ts), 1 worker;
 *  - app ×2: the same with WORKERS=2 (node:cluster, one port).
 * Every segment reports the Node CPU µs per request of the server's whole process tree, read from /proc
 * (utime + stime), so the cost of each layer is visible. Strategy functions on the bench's private Redis, low
 * contention (10,000 accounts). raw and app take turns (raw, app, app, raw); rates are summed, p50/p99 averaged.
 */
const SCENARIO = 'http';
const CONNECTIONS = 32;
const TICKS_PER_SECOND = clockTicks();

interface Segment {
  ok: number;
  /** CPU time of the server's process tree during the segment, µs. */
  cpuUs: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

interface Server {
  port: number;
  child: ChildProcess;
}

export async function http(ctx: BenchContext): Promise<void> {
  const ledger = 'http';
  const ids = accountIds('a', 10_000);
  await populate(ctx.admin, ledger, ids);
  const env = { REDIS_URL: ctx.server.url, ATOMIC_STRATEGY: 'functions', LEDGER: ledger, LOG_LEVEL: 'error' };
  const seconds = ctx.quick ? 0.75 : 3;
  const warmup = ctx.quick ? 0.4 : 1;
  const fire = async (server: Server, path: string, duration: number): Promise<Segment> => {
    const before = treeCpuUs(server.child.pid!);
    const segment = await cannon(server.port, path, duration, () => JSON.stringify(randomTransfer(ids)));
    return { ...segment, cpuUs: treeCpuUs(server.child.pid!) - before };
  };
  const perRequest = (s: Segment) => s.cpuUs / Math.max(1, s.ok + s.non2xx);
  const note = (s: Segment) => `Node CPU ${perRequest(s).toFixed(0)} µs/request · ${s.ok} × 2xx` +
    (s.non2xx || s.errors ? ` · non-2xx ${s.non2xx} · errors ${s.errors}` : '');
  const row = (name: string, s: Segment, extra = '') => ctx.report.row({
    scenario: SCENARIO, name, opsPerSec: s.ok / s.seconds, p50Ms: s.p50, p99Ms: s.p99,
    note: [note(s), extra].filter(Boolean).join(' · '), data: { ...s, cpuUsPerRequest: perRequest(s) },
  });

  const raw = await start(ctx, 'raw-server.ts', env);
  const app = await start(ctx, 'http-server.ts', env);
  let rawSegments: Segment;
  let appSegments: Segment;
  try {
    await fire(raw, '/transfers', warmup); // JIT, connections, first requests
    await fire(app, '/transfers', warmup);
    await fire(app, '/bench/noop', warmup);
    const raw1 = await fire(raw, '/transfers', seconds);
    const app1 = await fire(app, '/transfers', seconds);
    const app2 = await fire(app, '/transfers', seconds);
    const raw2 = await fire(raw, '/transfers', seconds);
    rawSegments = merge(raw1, raw2);
    appSegments = merge(app1, app2);
    row('POST /transfers — hand-written node:http + ioredis', rawSegments, 'the floor: same FCALL, no framework');
    row('POST /transfers — the service (functions)', appSegments, `autocannon ${CONNECTIONS} connections`);
    const noop = await fire(app, '/bench/noop', seconds);
    row('POST /bench/noop — the service, no Redis', noop, 'diagnostic: framework + validation only');
  } finally {
    await stop(raw.child);
    await stop(app.child);
  }
  ctx.report.target({
    scenario: SCENARIO, name: 'POST /transfers Node CPU: service / hand-written', value: perRequest(appSegments) / perRequest(rawSegments),
    op: '<=', target: 1.5, unit: 'x', detail: `${perRequest(appSegments).toFixed(0)} vs ${perRequest(rawSegments).toFixed(0)} µs/request`,
  });
  ctx.report.target({
    scenario: SCENARIO, name: 'POST /transfers throughput: service / hand-written',
    value: (appSegments.ok / appSegments.seconds) / (rawSegments.ok / rawSegments.seconds), op: '>=', target: 0.7, unit: 'x',
  });

  if (ctx.quick) return; // workers: full runs only
  const two = await start(ctx, 'http-server.ts', { ...env, WORKERS: '2' });
  try {
    await fire(two, '/transfers', warmup);
    const segment = await fire(two, '/transfers', seconds * 2);
    row('POST /transfers — the service, WORKERS=2', segment, 'node:cluster, one port');
    ctx.report.row({
      scenario: SCENARIO, name: 'WORKERS=2 / 1 worker (throughput)',
      note: `${((segment.ok / segment.seconds) / (appSegments.ok / appSegments.seconds)).toFixed(2)}× ` +
        '(Redis, autocannon and the workers share this machine\'s cores)',
      data: { ratio: (segment.ok / segment.seconds) / (appSegments.ok / appSegments.seconds) },
    });
  } finally {
    await stop(two.child);
  }
}

async function start(ctx: BenchContext, file: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join('bench', file)], {
    cwd: ctx.root, env: { ...process.env, ...env, BENCH_PORT: String(port), PORT: String(port) }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  await listening(child);
  return { port, child };
}

/** utime + stime of `pid` and all its descendants, in µs (from /proc; clock ticks). */
function treeCpuUs(pid: number): number {
  const stats = new Map<number, { ppid: number; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 (state) on
      stats.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // the process ended meanwhile
    }
  }
  let ticks = 0;
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    ticks += stats.get(tree[i])?.ticks ?? 0;
    for (const [child, { ppid }] of stats) if (ppid === tree[i]) tree.push(child);
  }
  return (ticks * 1e6) / TICKS_PER_SECOND;
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

function cannon(port: number, path: string, seconds: number, body: () => string): Promise<Omit<Segment, 'cpuUs'>> {
  const run = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [{
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json' },
      setupRequest: (request) => ({ ...request, body: body() }),
    }],
  });
  return withTimeout(run, seconds * 1000 + 30_000, `autocannon on ${path} did not finish`).then((r) => ({
    ok: r['2xx'], non2xx: r.non2xx, errors: r.errors, seconds: r.duration, p50: r.latency.p50, p99: r.latency.p99,
  }));
}

const merge = (a: Segment, b: Segment): Segment => ({
  ok: a.ok + b.ok, cpuUs: a.cpuUs + b.cpuUs, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors, seconds: a.seconds + b.seconds,
  p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2,
});

/** Resolves once the child prints LISTENING, or rejects with its stderr if it exits or takes over 60 s. */
function listening(child: ChildProcess): Promise<void> {
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const ready = new Promise<void>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      if (/LISTENING \d+/.test(stdout)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}: ${stderr.trim()}`)));
  });
  return withTimeout(ready, 60_000, 'bench server did not start within 60 s');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end(); // the servers exit when their stdin closes
  child.kill('SIGTERM'); // and the WORKERS primary on SIGTERM
  await withTimeout(exited, 10_000, 'bench server did not stop').catch(() => {
    child.kill('SIGKILL');
    return exited;
  });
}
