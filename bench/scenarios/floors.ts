import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Redis from 'ioredis';
import { assembleLibrary } from '@kernel/redis';
import { BenchContext, loadOptions } from '../lib/context';
import {
  accountIds, accountKeys, BALANCE, benchLedger, loadBenchLibrary, populate, randomPair, randomTransfer, writeArgvPrefix,
} from '../lib/ledgers';
import { abbaOnServer, commandStats, innerSummary, loadOnServer, ServerLoadResult, serverCpuSec } from '../lib/redis-stats';

/**
 * 2. Floors: how close the functions strategy gets to what cannot be beaten.
 *  (a) the port vs a bare ioredis loop calling our accounts_transfer FCALL with the same arguments (A B B A);
 *  (b) server time per call (commandstats usec_per_call, CONFIG RESETSTAT before each run, each run alone) of
 *      accounts_transfer vs bench_minimal_transfer (bench/minimal.lua), with an ablation ladder in between, and
 *      the previous history design (streams) in the same rounds, for the before/after of streams → lists;
 *  (c) redis-benchmark, pipelined, on our FCALL: the server's own limit.
 */
const SCENARIO = 'floors';
const run = promisify(execFile);

export async function floors(ctx: BenchContext): Promise<void> {
  await ctx.admin.call('FUNCTION', 'LOAD', 'REPLACE', assembleLibrary('accounts', join(ctx.root, 'lua')).source);
  await loadBenchLibrary(ctx.admin);
  const prefix = await writeArgvPrefix(ctx.admin);
  await portVsBare(ctx, prefix);
  await serverTimeLadder(ctx, prefix);
  await redisBenchmark(ctx, prefix);
}

/**
 * FCALL `fn` with exactly the adapter's KEYS and ARGV (lua/accounts.lua header); `prefix` = the idempotency
 * ARGV accounts_* write functions take first (writeArgvPrefix), none for the bench's own functions.
 */
function fcallTransfer(client: Redis, fn: string, ledger: string, ids: readonly string[], prefix: readonly (string | number)[] = []) {
  const keys = accountKeys(ledger);
  // Ours also takes the ledger's event stream (KEYS[5]) and its cap (ARGV[7]); the ladder's steps do not.
  const ours = fn === 'accounts_transfer';
  return () => {
    const [from, to] = randomPair(ids);
    const eventKeys = ours ? [keys.events] : [];
    return client.call('FCALL', fn, 4 + eventKeys.length, keys.account(from), keys.account(to), keys.history(from), keys.history(to),
      ...eventKeys, ...prefix, 1, '', randomUUID(), HISTORY_CAP, from, to, ...(ours ? [EVENTS_CAP] : []));
  };
}

/** The events cap of the bench's accounts_transfer calls (the app's default EVENTS_MAXLEN). */
const EVENTS_CAP = 100_000;

async function portVsBare(ctx: BenchContext, prefix: readonly (string | number)[]): Promise<void> {
  const ids = accountIds('a', 10_000);
  const ledger = 'floor';
  const bench = await benchLedger('functions', ctx.server.url, ledger);
  const bare = ctx.server.client(); // plain ioredis defaults: one connection, no auto-pipelining
  try {
    await populate(ctx.admin, ledger, ids);
    for (const concurrency of ctx.concurrencies) {
      const [port, raw] = await abbaOnServer(ctx.admin, () => bench.ledger.transfer(randomTransfer(ids)),
        fcallTransfer(bare, 'accounts_transfer', ledger, ids, prefix), loadOptions(ctx, concurrency, 2));
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
  /** Quick runs keep the two ends of the ladder and the previous design with its exact cap. */
  quick: boolean;
  /** What the step's history keys hold; under hot contention they start at the cap (prefilled). */
  history?: 'list' | 'stream';
}

/** History cap passed as ARGV[4], as the port does by default (historyLimit). */
const HISTORY_CAP = 1000;

/** From the floor up to accounts_transfer, one feature per step (bench/minimal.lua). */
const LADDER: Step[] = [
  { name: 'minimal: GET, DECRBY, INCRBY on strings', fn: 'bench_minimal_transfer', quick: true },
  { name: '+ hashes: 2 HMGET (checked), 2 HINCRBY', fn: 'bench_step_hashes', quick: false },
  { name: '+ TYPE check of the target history', fn: 'bench_step_type', quick: false },
  { name: '+ TIME, once', fn: 'bench_step_time', quick: false },
  { name: '+ 2 LPUSH (entry strings), no cap', fn: 'bench_step_lpush', quick: false, history: 'list' },
  { name: '+ cap (LTRIM when over)', fn: 'bench_step_cap', quick: false, history: 'list' },
  // Named in serverTimeLadder: from library version 4, what this step adds is the idempotency wrapper.
  { name: 'ours: accounts_transfer', fn: 'accounts_transfer', quick: true, history: 'list' },
];

/** The previous design (a capped stream per account), measured in the same rounds: the before/after of streams → lists. */
const STREAMS: Step[] = [
  { name: 'streams (before): 2 TYPE, 2 XADD MAXLEN = 1000', fn: 'bench_streams_exact', quick: true, history: 'stream' },
  { name: 'streams: 2 TYPE, 2 XADD MAXLEN ~ 1000', fn: 'bench_streams_approx', quick: false, history: 'stream' },
];

async function serverTimeLadder(ctx: BenchContext, prefix: readonly (string | number)[]): Promise<void> {
  mirrorCheck(ctx);
  const client = ctx.server.client();
  const concurrency = ctx.concurrencies[0];
  // Each step runs alone (RESETSTAT before it); steps take turns over several rounds so that a drift of the
  // machine hits all of them, and each reports its median round.
  const rounds = ctx.quick ? 1 : 5;
  const ladder = LADDER.filter((step) => !ctx.quick || step.quick);
  const streams = STREAMS.filter((step) => !ctx.quick || step.quick);
  const steps = [...ladder, ...streams];
  const capped = ladder.find((step) => step.fn === 'bench_step_cap');
  const stepName = (step: Step) => step.fn !== 'accounts_transfer' || !capped ? step.name
    : prefix.length ? `+ idempotency wrapper, no key = ${step.name}` : `= ${step.name} (no further feature)`;
  try {
    for (const contention of ['low', 'hot'] as const) {
      const ids = contention === 'low' ? accountIds('a', 10_000) : accountIds('h', 8);
      const ops = new Map<Step, () => Promise<unknown>>();
      for (const [index, step] of steps.entries()) {
        const ledger = `f${contention}${index}`; // every step on its own fresh keys
        if (step.fn === 'bench_minimal_transfer') {
          const key = (id: string) => `bm:{${ledger}}:${id}`;
          await ctx.admin.mset(...ids.flatMap((id) => [key(id), BALANCE]));
          ops.set(step, () => {
            const [from, to] = randomPair(ids);
            return client.call('FCALL', step.fn, 2, key(from), key(to), 1);
          });
        } else {
          await populate(ctx.admin, ledger, ids);
          // Hot: every history already holds HISTORY_CAP entries, so each capped write trims.
          if (contention === 'hot' && step.history) await prefillHistories(ctx.admin, ledger, ids, step.history);
          ops.set(step, fcallTransfer(client, step.fn, ledger, ids, step.fn.startsWith('accounts_') ? prefix : []));
        }
      }
      const runs = new Map<Step, ServerLoadResult[]>(steps.map((step) => [step, []]));
      for (let round = 0; round < rounds; round++) {
        for (const step of steps) {
          runs.get(step)!.push(await loadOnServer(ctx.admin, ops.get(step)!, loadOptions(ctx, concurrency, ctx.quick ? 0.6 : 0.2)));
        }
      }
      const median = new Map<Step, ServerLoadResult>();
      for (const step of steps) {
        const sorted = runs.get(step)!.sort((a, b) => usecPerCall(a) - usecPerCall(b));
        median.set(step, sorted[Math.floor(sorted.length / 2)]);
      }
      const rowOf = (step: Step, note: string) => ctx.report.load(SCENARIO, `(b) ${contention}: ${stepName(step)}`, median.get(step)!,
        `fcall ${usecPerCall(median.get(step)!).toFixed(2)} µs/call${note} · inside: ${innerSummary(median.get(step)!.commands)}`,
        { fn: step.fn, usecPerCallRounds: runs.get(step)!.map(usecPerCall) });
      let previous: number | undefined;
      for (const step of ladder) {
        const usec = usecPerCall(median.get(step)!);
        rowOf(step, (previous === undefined ? '' : ` (${usec >= previous ? '+' : ''}${(usec - previous).toFixed(2)})`) +
          (step.fn === 'accounts_transfer' ? ` · lua/accounts.lua v${libraryVersion(ctx)}` : ''));
        previous = usec;
      }
      const oursResult = median.get(LADDER[LADDER.length - 1])!;
      const ours = usecPerCall(oursResult);
      for (const step of streams) rowOf(step, '');
      // The history designs compared alone: the capped-list step (accounts_transfer without the idempotency
      // wrapper of library version 4) against the previous accounts_transfer; --quick has only ours.
      const lists = median.get(capped ?? LADDER[LADDER.length - 1])!;
      const listsUs = usecPerCall(lists);
      const before = median.get(STREAMS[0])!;
      const beforeUs = usecPerCall(before);
      const approx = median.get(STREAMS[1]);
      const hist = contention === 'hot' ? `histories at their ${HISTORY_CAP} cap` : 'histories short or new (10,000 accounts)';
      ctx.report.row({
        scenario: SCENARIO, name: `(b) ${contention}: streams → lists, server time`,
        note: `lists / streams (${capped ? 'list step vs previous accounts_transfer' : 'ours'}): fcall ${(listsUs / beforeUs).toFixed(2)}× ` +
          `(${listsUs.toFixed(2)} vs ${beforeUs.toFixed(2)} µs/call${approx ? `; vs MAXLEN ~ ${(listsUs / usecPerCall(approx)).toFixed(2)}×` : ''}) · ` +
          `redis CPU ${(lists.serverCpuUsPerOp / before.serverCpuUsPerOp).toFixed(2)}× (${lists.serverCpuUsPerOp.toFixed(1)} vs ` +
          `${before.serverCpuUsPerOp.toFixed(1)} µs/op)${capped && prefix.length ? ` · ours with its idempotency wrapper: ` +
          `${(ours / beforeUs).toFixed(2)}×` : ''} · ${hist}`,
        data: {
          comparison: 'streams→lists', contention, listsFn: capped?.fn ?? 'accounts_transfer', listsUsecPerCall: listsUs,
          streamsExactUsecPerCall: beforeUs, streamsApproxUsecPerCall: approx ? usecPerCall(approx) : undefined,
          ratioUsecPerCall: listsUs / beforeUs, oursUsecPerCall: ours, oursRatioUsecPerCall: ours / beforeUs,
          listsServerCpuUsPerOp: lists.serverCpuUsPerOp, streamsExactServerCpuUsPerOp: before.serverCpuUsPerOp,
        },
      });
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

const libraryVersion = (ctx: BenchContext) => assembleLibrary('accounts', join(ctx.root, 'lua')).version;

/** Helpers minimal.lua copies verbatim from the assembled lua/accounts.lua; a difference makes the ladder suspect. */
const MIRRORED = ['safe_integer', 'now_ms'];

function mirrorCheck(ctx: BenchContext): void {
  const ours = assembleLibrary('accounts', join(ctx.root, 'lua')).source;
  const bench = readFileSync(join(__dirname, '..', 'minimal.lua'), 'utf8');
  const body = (text: string, name: string) => new RegExp(`\\nlocal function ${name}\\([^]*?\\nend\\n`).exec(text)?.[0];
  const differ = MIRRORED.filter((name) => !body(ours, name) || body(ours, name) !== body(bench, name));
  if (differ.length) {
    ctx.report.row({ scenario: SCENARIO, name: '(b) WARNING: ladder may be stale',
      note: `bench/minimal.lua's copies of ${differ.join(', ')} differ from lua/accounts.lua: update the ladder` });
  }
}

/** Fills each account's history to HISTORY_CAP entries in the layout `kind` (list: entry strings; stream: 5 fields). */
async function prefillHistories(client: Redis, ledger: string, ids: readonly string[], kind: 'list' | 'stream'): Promise<void> {
  const keys = accountKeys(ledger);
  const ms = Date.now();
  const pipeline = client.pipeline();
  ids.forEach((id, i) => {
    const other = ids[(i + 1) % ids.length];
    if (kind === 'list') {
      pipeline.lpush(keys.history(id), ...Array.from({ length: HISTORY_CAP }, (_, n) => `${randomUUID()}|o|${ms}|-1|${other}|${BALANCE - n}`));
    } else {
      for (let n = 0; n < HISTORY_CAP; n++) {
        pipeline.xadd(keys.history(id), 'MAXLEN', HISTORY_CAP, '*', 't', randomUUID(), 'k', 'transfer_out', 'a', -1, 'c', other, 'b', BALANCE - n);
      }
    }
  });
  await pipeline.exec();
}

const usecPerCall = (r: ServerLoadResult) => r.commands.fcall?.usecPerCall ?? NaN;

const costs = (r: ServerLoadResult) =>
  `node ${r.nodeCpuUsPerOp.toFixed(1)} µs/op · redis ${r.serverCpuUsPerOp.toFixed(1)} µs/op · fcall ${r.commands.fcall?.usecPerCall.toFixed(1)} µs/call`;

async function redisBenchmark(ctx: BenchContext, prefix: readonly (string | number)[]): Promise<void> {
  // redis-benchmark replaces each __rand_int__ independently with a 12-digit number below -r, so accounts
  // are named that way; source, target and history keys are drawn independently (the server does the same work).
  // Sources are a…, targets b… : the functions refuse a call naming one key twice (INVALID_ARGUMENT).
  const ledger = 'rb';
  const numbers = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(12, '0'));
  await populate(ctx.admin, ledger, [...numbers.map((n) => `a${n}`), ...numbers.map((n) => `b${n}`)]);
  const key = (kind: string, side: 'a' | 'b') => `ra:{${ledger}}:${kind}:${side}__rand_int__`;
  const requests = ctx.quick ? 100_000 : 300_000;
  const args = ['-h', '127.0.0.1', '-p', String(ctx.server.port), '-c', '16', '-P', '16', '-n', String(requests), '-r', '10000', '--csv',
    'FCALL', 'accounts_transfer', '5', key('acct', 'a'), key('acct', 'b'), key('hist', 'a'), key('hist', 'b'), `ra:{${ledger}}:events`, ...prefix.map(String),
    '1', '', 'rb-transfer', String(HISTORY_CAP), 'src', 'dst', String(EVENTS_CAP)];
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
    note: `fcall ${fcall?.usecPerCall.toFixed(2)} µs/call · redis ${((cpu * 1e6) / requests).toFixed(1)} µs/op · ${requests} requests` +
      (fcall?.failedCalls ? ` · FAILED ${fcall.failedCalls} calls` : ''),
    data: { requests, csv: line, fcall, serverCpuUsPerOp: (cpu * 1e6) / requests },
  });
}
