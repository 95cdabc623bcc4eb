import { keySlot } from '@kernel/core';
import { connectRedis, FunctionLibrary, RedisClient, WatchRunner } from '@kernel/redis';
import { RedisCluster } from '@kernel/testing';
import type { AccountsLedger } from '../../src/accounts/accounts.port';
import { createSpread, SpreadParts } from '../../src/accounts/spread/adapters/create-spread';
import { BenchContext, loadOptions } from '../lib/context';
import { closedLoop, LoadResult } from '../lib/measure';
import { abbaOnServer } from '../lib/redis-stats';

/**
 * Cross-shard transfers (README "Cross-shard transfers"):
 * (a) the cost of the escrow protocol: one spread ledger (8 shards) on the bench's private redis-server, transfers
 *     whose two accounts share a shard (one FCALL, the fast path) vs transfers across shards (begin, 2 holds, decide,
 *     2 posts, finish: 7 FCALLs + 2 HGETs, 5 round trips in sequence), A B B A, with server CPU per transfer;
 * (b) scaling out: a private cluster of 3 masters (no replicas), 64 in flight: one ledger on one slot vs the same
 *     ledger spread over the 3 masters, with random pairs (2/3 cross-shard) and with same-shard pairs only.
 * All on this machine's 2 cores shared by Node, every redis-server and the load generator: ratios, not absolutes.
 */
const SCENARIO = 'crossshard';
const LIMITS = { maxBatch: 100, historyLimit: 100, idempotencyTtlSeconds: 3600, eventsMaxLen: 10_000 };
const ACCOUNTS = 600;

interface Bench {
  ledger: AccountsLedger;
  parts: SpreadParts;
  byShard: string[][];
  ids: string[];
}

async function spreadBench(client: RedisClient, ledger: string, spread: number): Promise<Bench> {
  const accounts = FunctionLibrary.fromFile(client, 'accounts');
  const escrow = FunctionLibrary.fromFile(client, 'escrow');
  await accounts.load();
  await escrow.load();
  const parts = createSpread('functions', ledger, LIMITS, { spread, timeoutMs: 10_000, graceMs: 5000 },
    { redis: { client, watch: new WatchRunner(client), keyPrefix: 'ra', accounts, escrow } });
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => `b${i}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(ids.slice(i, i + 50).map((id) => parts.ledger.open({ id, balance: 1_000_000_000 })));
  }
  const byShard: string[][] = Array.from({ length: spread }, () => []);
  for (const id of ids) byShard[parts.routing.shardOf(id)].push(id);
  return { ledger: parts.ledger, parts, byShard, ids };
}

const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];

function samePair(b: Bench): [string, string] {
  const shard = pick(b.byShard.filter((s) => s.length >= 2));
  const from = pick(shard);
  let to = pick(shard);
  while (to === from) to = pick(shard);
  return [from, to];
}

function crossPair(b: Bench): [string, string] {
  const from = pick(b.ids);
  let to = pick(b.ids);
  while (b.parts.routing.shardOf(to) === b.parts.routing.shardOf(from)) to = pick(b.ids);
  return [from, to];
}

function randomPair(b: Bench): [string, string] {
  const from = pick(b.ids);
  let to = pick(b.ids);
  while (to === from) to = pick(b.ids);
  return [from, to];
}

const transfer = (b: Bench, pair: () => [string, string]) => () => {
  const [from, to] = pair();
  return b.ledger.transfer({ from, to, amount: 1 });
};

export async function crossShard(ctx: BenchContext): Promise<void> {
  // (a) protocol cost on one server
  const client = await connectRedis({ url: ctx.server.url });
  try {
    const b = await spreadBench(client, 'xcost', 8);
    const concurrency = ctx.concurrencies[0];
    const [same, cross] = await abbaOnServer(ctx.admin, transfer(b, () => samePair(b)), transfer(b, () => crossPair(b)),
      loadOptions(ctx, concurrency));
    ctx.report.load(SCENARIO, `transfer same shard c${concurrency} (1 FCALL)`, same, `server ${same.serverCpuUsPerOp.toFixed(1)} µs/op`);
    ctx.report.load(SCENARIO, `transfer cross-shard c${concurrency} (escrow)`, cross, `server ${cross.serverCpuUsPerOp.toFixed(1)} µs/op`);
    ctx.report.row({
      scenario: SCENARIO, name: 'cross-shard ÷ same-shard cost',
      note: `throughput ${(same.opsPerSec / cross.opsPerSec).toFixed(2)}× lower, p50 ${(cross.p50Ms / same.p50Ms).toFixed(2)}× higher, ` +
        `server CPU ${(cross.serverCpuUsPerOp / same.serverCpuUsPerOp).toFixed(2)}× per transfer`,
      data: { throughputRatio: same.opsPerSec / cross.opsPerSec, p50Ratio: cross.p50Ms / same.p50Ms,
        serverCpuRatio: cross.serverCpuUsPerOp / same.serverCpuUsPerOp },
    });
  } finally {
    client.disconnect();
  }

  // (b) one slot vs spread over 3 masters (a private cluster: skipped by --quick, like the cluster scenario)
  if (ctx.quick) {
    ctx.report.row({ scenario: SCENARIO, name: 'cluster part skipped (--quick)' });
    return;
  }
  const cluster = await RedisCluster.start({ masters: 3, replicas: 0 });
  const cc = await connectRedis({ cluster: { nodes: cluster.nodes } });
  try {
    const masters = async (tags: string[]) => new Set(await Promise.all(tags.map(async (t) => (await cluster.owner(keySlot(t))).port))).size;
    let name = '';
    for (let i = 0; !name; i++) if ((await masters([0, 1, 2].map((k) => `xs${i}-x${k}`))) === 3) name = `xs${i}`;
    const oneSlot = await spreadBench(cc, 'xone', 1);
    const spread = await spreadBench(cc, name, 3);
    const concurrency = 64;
    const options = loadOptions(ctx, concurrency);
    const results: [string, LoadResult][] = [
      ['one ledger on one slot', await closedLoop(transfer(oneSlot, () => randomPair(oneSlot)), options)],
      ['spread over 3 masters, random pairs', await closedLoop(transfer(spread, () => randomPair(spread)), options)],
      ['spread over 3 masters, same-shard pairs', await closedLoop(transfer(spread, () => samePair(spread)), options)],
    ];
    for (const [label, result] of results) ctx.report.load(SCENARIO, `cluster ${label} c${concurrency}`, result);
    const base = results[0][1].opsPerSec;
    ctx.report.row({
      scenario: SCENARIO, name: 'spread ÷ one slot (3 masters, 2 cores)',
      note: `random pairs ${(results[1][1].opsPerSec / base).toFixed(2)}×, same-shard pairs ${(results[2][1].opsPerSec / base).toFixed(2)}×`,
      data: { randomPairs: results[1][1].opsPerSec / base, sameShardPairs: results[2][1].opsPerSec / base },
    });
  } finally {
    cc.disconnect();
    await cluster.stop();
  }
}
