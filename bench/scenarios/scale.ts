import { performance } from 'node:perf_hooks';
import type { Transfer } from '../../src/accounts/accounts.port';
import { BenchContext, loadOptions } from '../lib/context';
import { accountIds, accountKeys, BenchLedger, benchLedger, populate, randomTransfer } from '../lib/ledgers';
import { abbaOnServer, CommandStat, innerSummary, loadOnServer, ServerLoadResult, usedMemory } from '../lib/redis-stats';

/**
 * 5. Scale, functions strategy through the port:
 *  - batch size: single transfer() vs transferBatch of 1/10/100/1000 → wall time per transfer (1 / transfer
 *    rate) and server time per transfer (commandstats usec_per_call of FCALL / batch size);
 *  - keyspace size: transfers among 1k vs 1M accounts (100k in --quick), populated with pipelined HSET in
 *    the layout of lua/accounts.lua, A B B A;
 *  - memory (INFO memory used_memory deltas): per account (the populate) and per history entry (first
 *    entry of an account apart from the following ones; entries counted with XLEN).
 */
const SCENARIO = 'scale';

export async function scale(ctx: BenchContext): Promise<void> {
  await batchSizes(ctx);
  await keyspaceSize(ctx);
}

async function batchSizes(ctx: BenchContext): Promise<void> {
  const ids = accountIds('a', 10_000);
  const bench = await benchLedger('functions', ctx.server.url, 'scale');
  const concurrency = ctx.concurrencies[0];
  try {
    await populate(ctx.admin, 'scale', ids);
    const cost = new Map<number | 'single', { wallUs: number; serverUs: number; callUs: number }>();
    for (const size of ['single', 1, 10, 100, 1000] as const) {
      const n = size === 'single' ? 1 : size;
      const batch = () => Array.from({ length: n }, () => randomTransfer(ids));
      const op = size === 'single' ? () => bench.ledger.transfer(randomTransfer(ids)) : () => bench.ledger.transferBatch(batch());
      const result = await loadOnServer(ctx.admin, op, loadOptions(ctx, concurrency, 0.8));
      const callUs = result.commands.fcall?.usecPerCall ?? NaN;
      const c = { wallUs: 1e6 / (result.opsPerSec * n), serverUs: callUs / n, callUs };
      cost.set(size, c);
      ctx.report.load(SCENARIO, size === 'single' ? `transfer() c${concurrency}` : `transferBatch(${size}) c${concurrency}`, result,
        `per transfer: wall ${c.wallUs.toFixed(2)} µs, server ${c.serverUs.toFixed(2)} µs · fcall ${callUs.toFixed(1)} µs/call` +
        ` · inside per transfer: ${innerSummary(perTransfer(result.commands, n))}`,
        { transfersPerSec: result.opsPerSec * n, ...c });
    }
    const single = cost.get('single')!;
    const big = cost.get(1000)!;
    ctx.report.target({
      scenario: SCENARIO, name: 'server time of one 1000-transfer batch', value: big.callUs / 1000, op: '<', target: 50, unit: 'ms',
      detail: 'commandstats usec_per_call of FCALL accounts_transfer_batch',
    });
    ctx.report.target({
      scenario: SCENARIO, name: 'wall time per transfer: single / batch of 1000', value: single.wallUs / big.wallUs, op: '>=', target: 5,
      unit: 'x', detail: `${single.wallUs.toFixed(2)} vs ${big.wallUs.toFixed(2)} µs (1 / transfer rate, c${concurrency})`,
    });
    ctx.report.target({
      scenario: SCENARIO, name: 'server time per transfer: single / batch of 1000', value: single.serverUs / big.serverUs, op: '>=',
      target: 5, unit: 'x', detail: `${single.serverUs.toFixed(2)} vs ${big.serverUs.toFixed(2)} µs`,
    });
  } finally {
    await bench.close();
  }
}

/** Commandstats scaled to one transfer of a batch of n (so "xadd 2×…" reads per transfer). */
function perTransfer(commands: Record<string, CommandStat>, n: number): Record<string, CommandStat> {
  return Object.fromEntries(Object.entries(commands).map(([name, s]) => [name, { ...s, calls: name === 'fcall' ? s.calls * n : s.calls }]));
}

async function keyspaceSize(ctx: BenchContext): Promise<void> {
  const large = ctx.quick ? 100_000 : 1_000_000;
  const smallIds = accountIds('k', 1000);
  const largeIds = accountIds('u', large);
  await populate(ctx.admin, 'k1k', smallIds);

  const before = await usedMemory(ctx.admin);
  const t0 = performance.now();
  await populate(ctx.admin, 'm1m', largeIds);
  const populateMs = performance.now() - t0;
  const perAccount = ((await usedMemory(ctx.admin)) - before) / large;
  ctx.report.row({
    scenario: SCENARIO, name: `memory per account (${large.toLocaleString('en-US')} accounts)`,
    note: `${perAccount.toFixed(0)} B/account (used_memory delta; HASH b, m) · populated in ${(populateMs / 1000).toFixed(1)} s ` +
      `(${Math.round(large / (populateMs / 1000)).toLocaleString('en-US')} HSET/s, pipelined)`,
    data: { accounts: large, bytesPerAccount: perAccount, populateMs },
  });

  const small = await benchLedger('functions', ctx.server.url, 'k1k');
  const big = await benchLedger('functions', ctx.server.url, 'm1m');
  const steady = await benchLedger('functions', ctx.server.url, 'mem');
  try {
    await historyMemory(ctx, small, steady, smallIds);

    const concurrency = ctx.concurrencies[ctx.concurrencies.length - 1];
    const [onSmall, onLarge] = await abbaOnServer(ctx.admin, () => small.ledger.transfer(randomTransfer(smallIds)),
      () => big.ledger.transfer(randomTransfer(largeIds)), loadOptions(ctx, concurrency, 2));
    const label = large.toLocaleString('en-US');
    ctx.report.load(SCENARIO, `transfer among 1,000 accounts c${concurrency}`, onSmall, inside(onSmall));
    ctx.report.load(SCENARIO, `transfer among ${label} accounts c${concurrency}`, onLarge, inside(onLarge));
    ctx.report.target({
      scenario: SCENARIO, name: `throughput ${label} / 1,000 accounts`, value: onLarge.opsPerSec / onSmall.opsPerSec, op: '>=',
      target: 0.9, unit: 'x', detail: `A B B A; among ${label} accounts most transfers create two new history streams`,
    });

    // Diagnostic: the same, with new streams preallocating 512 B instead of 4 KB (server setting).
    const nodeBytes = ((await ctx.admin.config('GET', 'stream-node-max-bytes')) as string[])[1];
    await ctx.admin.config('SET', 'stream-node-max-bytes', '512');
    try {
      const result = await loadOnServer(ctx.admin, () => big.ledger.transfer(randomTransfer(largeIds)), loadOptions(ctx, concurrency));
      ctx.report.load(SCENARIO, `… ${label} accounts, stream-node-max-bytes 512`, result, `diagnostic · ${inside(result)}`);
    } finally {
      await ctx.admin.config('SET', 'stream-node-max-bytes', nodeBytes);
    }
  } finally {
    await small.close();
    await big.close();
    await steady.close();
  }
}

const inside = (r: ServerLoadResult) => `fcall ${r.commands.fcall?.usecPerCall.toFixed(1)} µs/call · inside: ${innerSummary(r.commands)}`;

/**
 * History memory. A new stream costs a whole listpack node up front (Redis 7 preallocates
 * stream-node-max-bytes, 4 KB by default), so the first entry of an account and the following ones are
 * reported apart: one entry on each of 1,000 accounts, then ~800 entries on each of 100 accounts.
 */
async function historyMemory(ctx: BenchContext, small: BenchLedger, steady: BenchLedger, smallIds: string[]): Promise<void> {
  const m0 = await usedMemory(ctx.admin);
  const pairs: Transfer[] = [];
  for (let i = 0; i + 1 < smallIds.length; i += 2) pairs.push({ from: smallIds[i], to: smallIds[i + 1], amount: 1 });
  await small.ledger.transferBatch(pairs); // exactly one entry per account
  const firstEntry = ((await usedMemory(ctx.admin)) - m0) / smallIds.length;

  const ids = accountIds('m', 100);
  await populate(ctx.admin, 'mem', ids);
  const m1 = await usedMemory(ctx.admin);
  for (let i = 0; i < 40; i++) {
    await steady.ledger.transferBatch(Array.from({ length: 1000 }, () => randomTransfer(ids)));
  }
  const pipeline = ctx.admin.pipeline();
  for (const id of ids) pipeline.xlen(accountKeys('mem').history(id));
  const entries = ((await pipeline.exec()) ?? []).reduce((n, [, len]) => n + Number(len), 0);
  const perEntry = ((await usedMemory(ctx.admin)) - m1) / entries;
  ctx.report.row({
    scenario: SCENARIO, name: 'memory per history entry',
    note: `first entry of an account (new stream): ${Math.round(firstEntry).toLocaleString('en-US')} B · then ${perEntry.toFixed(0)} B/entry ` +
      `(${entries.toLocaleString('en-US')} entries in 100 streams)`,
    data: { firstEntryBytes: firstEntry, bytesPerEntry: perEntry, entries },
  });
}
