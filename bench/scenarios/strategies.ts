import type { RedisAtomicOptions } from '@kernel/nest';
import type { AtomicStrategy } from '@kernel/core';
import { BenchContext, loadOptions } from '../lib/context';
import { accountIds, benchLedger, prepare, randomTransfer } from '../lib/ledgers';
import { closedLoop, LoadResult } from '../lib/measure';
import { loadOnServer, ServerLoadResult } from '../lib/redis-stats';

/**
 * 1. Strategies: transfers through the Accounts port (AccountsModule.forRoot) at low contention (10,000
 * accounts) and hot contention (8 accounts), at each concurrency level; plus `open` of fresh accounts, the
 * read-free operation where the transactions strategy is a plain MULTI (two HSETNX).
 *
 * WATCH statistics come from the server's commandstats of the measured phase alone:
 *   attempts/op = WATCH calls / operations (1.0 = never retried) · aborted EXEC = EXEC calls − successes
 *   (EXEC answered nil because a watched key changed) · CONFLICT = operations that exhausted their retries.
 */
const SCENARIO = 'strategies';
const HOT_P99_BOUND_MS = 100;

interface Variant {
  label: string;
  strategy: AtomicStrategy;
  redis?: Partial<RedisAtomicOptions>;
  open: boolean;
}

const VARIANTS: Variant[] = [
  { label: 'functions', strategy: 'functions', open: true },
  { label: 'transactions', strategy: 'transactions', open: true },
  // The same adapter with the in-process same-key queue off: every conflict is left to WATCH and retries.
  { label: 'transactions WATCH-only', strategy: 'transactions', redis: { watch: { queueSameKeys: false } }, open: false },
  { label: 'memory', strategy: 'memory', open: true },
];

export async function strategies(ctx: BenchContext): Promise<void> {
  const pools = { low: accountIds('a', 10_000), hot: accountIds('h', 8) };
  const goodput = new Map<string, LoadResult & Partial<ServerLoadResult>>();
  let run = 0;

  for (const variant of VARIANTS) {
    const ledgerName = `s${run++}`;
    const bench = await benchLedger(variant.strategy, ctx.server.url, ledgerName, variant.redis);
    try {
      await prepare(bench, ctx.admin, ledgerName, [...pools.low, ...pools.hot]);
      for (const concurrency of ctx.concurrencies) {
        for (const contention of ['low', 'hot'] as const) {
          const ids = pools[contention];
          const op = () => bench.ledger.transfer(randomTransfer(ids));
          const options = loadOptions(ctx, concurrency);
          const result = variant.strategy === 'memory' ? await closedLoop(op, options) : await loadOnServer(ctx.admin, op, options);
          goodput.set(`${variant.label}|${contention}|${concurrency}`, result);
          ctx.report.load(SCENARIO, `transfer ${variant.label} ${contention} c${concurrency}`, result, describe(result));
        }
        if (variant.open) {
          let next = 0;
          const tag = `o${run}c${concurrency}x`;
          const op = () => bench.ledger.open({ id: `${tag}${next++}`, balance: 100 });
          const options = loadOptions(ctx, concurrency, 0.5);
          const result = variant.strategy === 'memory' ? await closedLoop(op, options) : await loadOnServer(ctx.admin, op, options);
          const how = variant.strategy === 'transactions' ? ' (MULTI)' : variant.strategy === 'functions' ? ' (FCALL)' : '';
          ctx.report.load(SCENARIO, `open ${variant.label}${how} c${concurrency}`, result, describe(result));
        }
      }
    } finally {
      await bench.close();
    }
  }

  for (const concurrency of ctx.concurrencies) {
    const low = goodput.get(`transactions|low|${concurrency}`);
    const hot = goodput.get(`transactions|hot|${concurrency}`);
    const watchLow = goodput.get(`transactions WATCH-only|low|${concurrency}`);
    const watchHot = goodput.get(`transactions WATCH-only|hot|${concurrency}`);
    if (!low || !hot) continue;
    const watchOnly = watchLow && watchHot ? `; WATCH-only (queue off): ${(watchHot.opsPerSec / watchLow.opsPerSec).toFixed(2)}×, ` +
      `p99 ${watchHot.p99Ms.toFixed(1)} ms` : '';
    ctx.report.target({
      scenario: SCENARIO, name: `transactions hot/low goodput c${concurrency}`, value: hot.opsPerSec / low.opsPerSec,
      op: '>=', target: 0.5, unit: 'x', detail: `default (in-process same-key queue + WATCH)${watchOnly}`,
    });
    ctx.report.target({
      scenario: SCENARIO, name: `transactions hot p99 c${concurrency}`, value: hot.p99Ms, op: '<=', target: HOT_P99_BOUND_MS,
      unit: 'ms', detail: `low-contention p99 ${low.p99Ms.toFixed(1)} ms`,
    });
  }
}

/** Server cost and, for WATCH transactions, attempts, aborted EXECs and CONFLICTs. */
export function describe(result: LoadResult & Partial<ServerLoadResult>): string {
  const commands = result.commands;
  const parts = [`node ${result.nodeCpuUsPerOp.toFixed(0)} µs/op`];
  if (!commands) return parts[0];
  parts.push(`redis ${result.serverCpuUsPerOp!.toFixed(1)} µs/op`);
  if (commands.fcall) parts.push(`fcall ${commands.fcall.usecPerCall.toFixed(1)} µs/call`);
  const ops = result.ok + result.failed;
  if (commands.watch && ops > 0) {
    const exec = commands.exec?.calls ?? 0;
    parts.push(`attempts/op ${(commands.watch.calls / ops).toFixed(2)}`,
      `aborted EXEC ${exec ? ((100 * (exec - result.ok)) / exec).toFixed(1) : '0'}%`,
      `CONFLICT ${((100 * (result.errors.CONFLICT ?? 0)) / ops).toFixed(2)}%`);
  }
  return parts.join(' · ');
}
