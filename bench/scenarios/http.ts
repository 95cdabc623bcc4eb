import autocannon from 'autocannon';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { BenchContext } from '../lib/context';
import { accountIds, populate, randomTransfer } from '../lib/ledgers';
import { withTimeout } from '../lib/measure';

/**
 * 3. HTTP: autocannon against POST /transfers and against POST /bench/noop (same DTO, same global pipe and
 * filter, constant reply) of one app, running in a child process so the load generator has its own event
 * loop. Strategy functions on the bench's private Redis, low contention (10,000 accounts). Segments run in
 * the order noop, transfers, transfers, noop; rates are summed, p50/p99 are the mean of the two segments.
 */
const SCENARIO = 'http';
const CONNECTIONS = 32;

interface Segment {
  ok: number;
  /** CPU time of the app process during the segment. */
  appCpuUs: number;
  non2xx: number;
  errors: number;
  seconds: number;
  p50: number;
  p99: number;
}

export async function http(ctx: BenchContext): Promise<void> {
  const ledger = 'http';
  const ids = accountIds('a', 10_000);
  await populate(ctx.admin, ledger, ids);
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', join('bench', 'http-server.ts')], {
    cwd: ctx.root,
    env: { ...process.env, REDIS_URL: ctx.server.url, ATOMIC_STRATEGY: 'functions', LEDGER: ledger, PORT: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    const port = await listening(child);
    const seconds = ctx.quick ? 0.75 : 3;
    const warmup = ctx.quick ? 0.5 : 1;
    const fire = async (path: string, duration: number): Promise<Segment> => {
      const before = await appCpu(port);
      const segment = await cannon(port, path, duration, () => JSON.stringify(randomTransfer(ids)));
      return { ...segment, appCpuUs: (await appCpu(port)) - before };
    };
    await fire('/bench/noop', warmup); // warm-up both routes (JIT, connections, the app's first requests)
    await fire('/transfers', warmup);
    const noop1 = await fire('/bench/noop', seconds);
    const transfer1 = await fire('/transfers', seconds);
    const transfer2 = await fire('/transfers', seconds);
    const noop2 = await fire('/bench/noop', seconds);
    const noop = merge(noop1, noop2);
    const transfers = merge(transfer1, transfer2);
    const note = (s: Segment) => `app CPU ${(s.appCpuUs / (s.ok + s.non2xx)).toFixed(0)} µs/request · ` +
      `autocannon ${CONNECTIONS} connections · ${s.ok} × 2xx` +
      (s.non2xx || s.errors ? ` · non-2xx ${s.non2xx} · errors ${s.errors}` : '');
    ctx.report.row({ scenario: SCENARIO, name: 'POST /bench/noop (same DTO, pipe, filter)', opsPerSec: noop.ok / noop.seconds,
      p50Ms: noop.p50, p99Ms: noop.p99, note: note(noop), data: { ...noop } });
    ctx.report.row({ scenario: SCENARIO, name: 'POST /transfers (functions, low contention)', opsPerSec: transfers.ok / transfers.seconds,
      p50Ms: transfers.p50, p99Ms: transfers.p99, note: note(transfers), data: { ...transfers } });
    const raw = await fire('/bench/raw', seconds);
    ctx.report.row({ scenario: SCENARIO, name: 'POST /bench/raw (no DTO: nothing to validate)', opsPerSec: raw.ok / raw.seconds,
      p50Ms: raw.p50, p99Ms: raw.p99, note: `diagnostic · ${note(raw)}`, data: { ...raw } });
    ctx.report.target({
      scenario: SCENARIO, name: 'POST /transfers / no-op route', value: (transfers.ok / transfers.seconds) / (noop.ok / noop.seconds),
      op: '>=', target: 0.7, unit: 'x', detail: `app CPU ${(transfers.appCpuUs / transfers.ok).toFixed(0)} vs ` +
        `${(noop.appCpuUs / noop.ok).toFixed(0)} µs/request; app in a child process, same pipe and filter`,
    });
  } finally {
    await stop(child);
  }
}

async function appCpu(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/bench/cpu`, { signal: AbortSignal.timeout(5000) });
  return ((await response.json()) as { us: number }).us;
}

function cannon(port: number, path: string, seconds: number, body: () => string): Promise<Omit<Segment, 'appCpuUs'>> {
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
  ok: a.ok + b.ok, appCpuUs: a.appCpuUs + b.appCpuUs, non2xx: a.non2xx + b.non2xx, errors: a.errors + b.errors, seconds: a.seconds + b.seconds,
  p50: (a.p50 + b.p50) / 2, p99: (a.p99 + b.p99) / 2,
});

/** Resolves with the port the child prints, or rejects with its stderr if it exits or takes over 60 s. */
function listening(child: ChildProcess): Promise<number> {
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const ready = new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.on('data', (chunk) => {
      stdout += chunk;
      const match = /LISTENING (\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`http-server exited with ${code}: ${stderr.trim()}`)));
  });
  return withTimeout(ready, 60_000, 'http-server did not start within 60 s');
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin!.end(); // the server exits when its stdin closes
  await withTimeout(exited, 10_000, 'http-server did not stop').catch(() => {
    child.kill('SIGKILL');
    return exited;
  });
}
