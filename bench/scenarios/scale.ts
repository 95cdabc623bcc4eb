import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { RedisServer } from '@kernel/testing';
import type { Transfer } from '../../src/accounts/accounts.port';
import { BenchContext, loadOptions } from '../lib/context';
import { accountIds, accountKeys, BenchLedger, benchLedger, loadBenchLibrary, populate, randomTransfer } from '../lib/ledgers';
import { sleep } from '../lib/measure';
import { abbaOnServer, CommandStat, innerSummary, loadOnServer, ServerLoadResult, usedMemory } from '../lib/redis-stats';

/**
 * 5. Scale, functions strategy through the port:
 *  - batch size: single transfer() vs transferBatch of 1/10/100/1000 → wall time per transfer (1 / transfer
 *    rate) and server time per transfer (commandstats usec_per_call of FCALL / batch size);
 *  - keyspace size: transfers among 1k vs 1M accounts (100k in --quick), populated with pipelined HSET in
 *    the layout of lua/accounts.lua, A B B A;
 *  - memory (INFO memory used_memory deltas): per account (the populate) and per history entry (first
 *    entry of an account apart from the following ones; entries counted with LLEN), with the previous
 *    design (a stream per account, bench/minimal.lua bench_streams_exact) measured the same way, both on
 *    a fresh redis-server of their own.
 */
const SCENARIO = 'scale';

export async function scale(ctx: BenchContext): Promise<void> {
  await batchSizes(ctx);
  await historyMemory(ctx);
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

/** Commandstats scaled to one transfer of a batch of n (so "lpush 2×…" reads per transfer). */
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
  try {
    const concurrency = ctx.concurrencies[ctx.concurrencies.length - 1];
    const [onSmall, onLarge] = await abbaOnServer(ctx.admin, () => small.ledger.transfer(randomTransfer(smallIds)),
      () => big.ledger.transfer(randomTransfer(largeIds)), loadOptions(ctx, concurrency, 2));
    const label = large.toLocaleString('en-US');
    ctx.report.load(SCENARIO, `transfer among 1,000 accounts c${concurrency}`, onSmall, inside(onSmall));
    ctx.report.load(SCENARIO, `transfer among ${label} accounts c${concurrency}`, onLarge, inside(onLarge));
    ctx.report.target({
      scenario: SCENARIO, name: `throughput ${label} / 1,000 accounts`, value: onLarge.opsPerSec / onSmall.opsPerSec, op: '>=',
      target: 0.9, unit: 'x', detail: `A B B A; among ${label} accounts most transfers create two new history lists`,
    });
  } finally {
    await small.close();
    await big.close();
  }
}

const inside = (r: ServerLoadResult) => `fcall ${r.commands.fcall?.usecPerCall.toFixed(1)} µs/call · inside: ${innerSummary(r.commands)}`;

/**
 * History memory, ours (a capped LIST of entry strings per account) and the previous design (a capped STREAM,
 * 5 fields per entry; Redis 7 preallocates a whole listpack node, stream-node-max-bytes = 4 KB, per new stream).
 * The first entry of an account (which creates its history key) is reported apart from the following ones:
 * one entry on each of 1,000 accounts; then, on 100 accounts that already have one entry each, 40,000 random
 * transfers (~800 entries per account, under the cap, so nothing is trimmed). Lists are written through the port (transferBatch), streams by
 * FCALL bench_streams_exact (the previous accounts_transfer) on accounts of their own.
 * On a fresh private redis-server of its own, every account created first and the keyspace's hash table
 * already grown past what the histories add (no table doubles or finishes rehashing inside a measurement).
 */
async function historyMemory(ctx: BenchContext): Promise<void> {
  const server = await RedisServer.start();
  const client = server.client();
  const ledgers = new Map<string, BenchLedger>();
  try {
    // Every connection is open before the first measurement (a new client's buffers would land in a delta).
    for (const ledger of ['pad', 'k1k', 'mem']) ledgers.set(ledger, await benchLedger('functions', server.url, ledger));
    const firstIds = accountIds('k', 1000);
    const steadyIds = accountIds('m', 100);
    const padIds = accountIds('p', 2000);
    // 4,200 keys (the table has doubled to 8,192 slots) before the histories add 3,200 (warm-ups included).
    for (const [ledger, ids] of [['k1k', firstIds], ['mem', steadyIds], ['k1ks', firstIds], ['mems', steadyIds], ['pad', padIds]] as const) {
      await populate(client, ledger, ids);
    }
    await sleep(300); // serverCron finishes the incremental rehash
    const pairsOf = (ids: readonly string[]) => {
      const pairs: Transfer[] = [];
      for (let i = 0; i + 1 < ids.length; i += 2) pairs.push({ from: ids[i], to: ids[i + 1], amount: 1 });
      return pairs;
    };
    const batches = Array.from({ length: 40 }, () => Array.from({ length: 1000 }, () => randomTransfer(steadyIds)));
    const plan = (ledgers: [string, string], warmup: readonly string[]) =>
      ({ warmup: pairsOf(warmup), first: pairsOf(firstIds), ledgers, steadyIds, batches });

    // A warm-up write of the same shape first, on other accounts: the connection's buffers have grown before m0.
    const lists = await historyFootprint(client, plan(['k1k', 'mem'], padIds.slice(0, 1000)), 'llen',
      async (ledger, transfers) => void await ledgers.get(ledger)!.ledger.transferBatch(transfers));
    ctx.report.row({
      scenario: SCENARIO, name: 'memory per history entry (lists, ours)',
      note: `first entry of an account (new list): ${Math.round(lists.firstEntry).toLocaleString('en-US')} B · then ` +
        `${lists.perEntry.toFixed(0)} B/entry (${lists.entries.toLocaleString('en-US')} entries in 100 lists)`,
      data: { firstEntryBytes: lists.firstEntry, bytesPerEntry: lists.perEntry, entries: lists.entries },
    });

    await loadBenchLibrary(client);
    const streams = await historyFootprint(client, plan(['k1ks', 'mems'], padIds.slice(1000)), 'xlen', async (ledger, transfers) => {
      const keys = accountKeys(ledger);
      const pipeline = client.pipeline();
      for (const { from, to, amount } of transfers) {
        pipeline.call('FCALL', 'bench_streams_exact', 4, keys.account(from), keys.account(to), keys.history(from), keys.history(to),
          amount, '', randomUUID(), 1000, from, to);
      }
      const failed = ((await pipeline.exec()) ?? []).find(([err]) => err);
      if (failed) throw failed[0];
    });
    ctx.report.row({
      scenario: SCENARIO, name: 'memory per history entry (streams, before)',
      note: `first entry of an account (new stream): ${Math.round(streams.firstEntry).toLocaleString('en-US')} B · then ` +
        `${streams.perEntry.toFixed(0)} B/entry (${streams.entries.toLocaleString('en-US')} entries in 100 streams) · lists / streams: ` +
        `${(lists.firstEntry / streams.firstEntry).toFixed(2)}× per first entry, ${(lists.perEntry / streams.perEntry).toFixed(2)}× per entry`,
      data: {
        firstEntryBytes: streams.firstEntry, bytesPerEntry: streams.perEntry, entries: streams.entries,
        listsOverStreamsFirstEntry: lists.firstEntry / streams.firstEntry, listsOverStreamsPerEntry: lists.perEntry / streams.perEntry,
      },
    });
  } finally {
    for (const ledger of ledgers.values()) await ledger.close();
    await server.stop();
  }
}

interface FootprintPlan {
  /** Written first, unmeasured, on accounts of their own (connection buffers grow here, not in a delta). */
  warmup: Transfer[];
  /** One transfer per pair of accounts of ledgers[0]: exactly one entry per account. */
  first: Transfer[];
  /** [ledger of the first entries, ledger of the steady state] */
  ledgers: [string, string];
  steadyIds: string[];
  /** Written on ledgers[1], whose accounts already hold one entry each. */
  batches: Transfer[][];
}

/** used_memory deltas per first entry of an account and per following entry. */
async function historyFootprint(client: Redis, plan: FootprintPlan, count: 'llen' | 'xlen',
  write: (ledger: string, transfers: Transfer[]) => Promise<void>): Promise<{ firstEntry: number; perEntry: number; entries: number }> {
  const [first, steady] = plan.ledgers;
  await write('pad', plan.warmup);
  const m0 = await usedMemory(client);
  await write(first, plan.first);
  const firstEntry = ((await usedMemory(client)) - m0) / (plan.first.length * 2);
  const firstCount = await countEntries(client, first, plan.first.flatMap(({ from, to }) => [from, to]), count);
  if (firstCount !== plan.first.length * 2) throw new Error(`expected ${plan.first.length * 2} first entries, found ${firstCount}`);

  // The steady accounts get their first entry before the measurement, which counts only the following ones.
  const seed: Transfer[] = [];
  for (let i = 0; i + 1 < plan.steadyIds.length; i += 2) seed.push({ from: plan.steadyIds[i], to: plan.steadyIds[i + 1], amount: 1 });
  await write(steady, seed);
  const m1 = await usedMemory(client);
  for (const batch of plan.batches) await write(steady, batch);
  const entries = (await countEntries(client, steady, plan.steadyIds, count)) - seed.length * 2;
  return { firstEntry, perEntry: ((await usedMemory(client)) - m1) / entries, entries };
}

async function countEntries(client: Redis, ledger: string, ids: readonly string[], count: 'llen' | 'xlen'): Promise<number> {
  const pipeline = client.pipeline();
  for (const id of ids) pipeline[count](accountKeys(ledger).history(id));
  return ((await pipeline.exec()) ?? []).reduce((n, [, len]) => n + Number(len), 0);
}
