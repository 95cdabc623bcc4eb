import { Test, TestingModule } from '@nestjs/testing';
import type Redis from 'ioredis';
import { keySlot } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { ClusterNodeInfo, RedisCluster } from '@kernel/testing';
import { AccountsModule } from '../../src/accounts/accounts.module';
import type { AccountsLedger } from '../../src/accounts/accounts.port';
import { getLedgerToken } from '../../src/accounts/accounts.tokens';
import { BenchContext } from '../lib/context';
import { accountIds, populate, randomTransfer } from '../lib/ledgers';
import { closedLoopSample, LoadResult, Operation, Sample, summarize } from '../lib/measure';
import { info } from '../lib/redis-stats';

/**
 * 7. Redis Cluster: the transfer scenario (functions strategy, through the Accounts port, 1,000 accounts per ledger,
 * low contention) on a private local cluster of 3 masters + 3 replicas (RedisCluster from the testing entry; its
 * nodes on free ports, stopped by PID).
 *
 * - One ledger vs many: one ledger is one hash slot, so one master does all its work; LEDGERS_PER_MASTER ledgers on
 *   each of the 3 masters (named AccountsModule instances, as an app with several ledgers has them) spread it.
 *   Throughput, latency and the Redis CPU of EACH master (INFO cpu used_cpu_sys + used_cpu_user, deltas over the
 *   measured phase; replicas summed apart), in the order A B B A so a drift of the machine hits both sides.
 * - The cost of WAIT: the many-ledger load with `waitReplicas: 1` (each write then waits for one replica's
 *   acknowledgement on the same connection) vs without, also A B B A.
 * Every Node process, the 6 redis-servers and the load generator share this machine's cores: the ratios say what
 * spreading costs or gains HERE, not what 3 machines would do. Skipped by --quick unless named in --only.
 */
const SCENARIO = 'cluster';
const LEDGERS_PER_MASTER = 3;
const ACCOUNTS = 1_000;

interface NodeCpu {
  address: string;
  role: 'master' | 'replica';
  client: Redis;
}

interface ClusterResult extends LoadResult {
  /** Redis CPU µs per operation on each master (by address), and on all replicas together. */
  masterCpuUsPerOp: Record<string, number>;
  replicaCpuUsPerOp: number;
}

export async function cluster(ctx: BenchContext): Promise<void> {
  const named = process.argv.some((a) => a.startsWith('--only=') && a.slice('--only='.length).split(',').includes(SCENARIO));
  if (ctx.quick && !named) {
    ctx.report.row({ scenario: SCENARIO, name: 'skipped in --quick', note: 'npm run bench -- --quick --only=cluster runs it short' });
    return;
  }
  const redisCluster = await RedisCluster.start();
  const apps: TestingModule[] = [];
  try {
    const topology = await redisCluster.topology();
    const masters = topology.filter((n) => n.role === 'master' && n.slots.length > 0).sort((a, b) => a.port - b.port);
    const nodes: NodeCpu[] = topology.filter((n) => !n.failed).map((n) => ({ address: n.address, role: n.role, client: redisCluster.nodeClient(n.port) }));
    const ids = accountIds('a', ACCOUNTS);

    // One ledger on the first master; LEDGERS_PER_MASTER on each master for the spread load.
    const spread = await ledgersOn(redisCluster, masters, LEDGERS_PER_MASTER);
    const single = spread[0];
    for (const ledger of spread) {
      const owner = await redisCluster.owner(keySlot(ledger));
      await populate(redisCluster.nodeClient(owner.port), ledger, ids);
    }

    const wire = async (waitReplicas: number): Promise<Map<string, AccountsLedger>> => {
      const app = await Test.createTestingModule({
        imports: [
          RedisAtomicModule.forRoot({ cluster: { nodes: redisCluster.nodes }, waitReplicas, waitTimeoutMs: 1000 }),
          ...spread.map((ledger) => AccountsModule.forRoot({ name: ledger, ledger, strategy: 'functions', http: false })),
        ],
      }).compile();
      await app.init();
      apps.push(app);
      return new Map(spread.map((ledger) => [ledger, app.get<AccountsLedger>(getLedgerToken(ledger))]));
    };
    const plain = await wire(0);
    const waited = await wire(1);

    const one = (ledgers: Map<string, AccountsLedger>): Operation => {
      const port = ledgers.get(single)!;
      return () => port.transfer(randomTransfer(ids));
    };
    const many = (ledgers: Map<string, AccountsLedger>): Operation => {
      const ports = spread.map((ledger) => ledgers.get(ledger)!);
      let next = 0;
      return () => ports[next++ % ports.length].transfer(randomTransfer(ids));
    };

    // Every connection and code path warm before anything is measured (the first phase would pay for them).
    for (const op of [one(plain), many(plain), many(waited)]) {
      await closedLoopSample(op, { concurrency: ctx.concurrencies[0], durationMs: ctx.warmupMs });
    }
    const warmupMs = ctx.warmupMs;
    const durationMs = ctx.measureMs;
    const summary: Record<string, unknown> = {};
    for (const concurrency of ctx.concurrencies) {
      const [oneLedger, manyLedgers] = await abba(nodes, one(plain), many(plain), { concurrency, warmupMs, durationMs });
      row(ctx, `transfer 1 ledger (1 of 3 masters) c${concurrency}`, oneLedger, masters);
      row(ctx, `transfer ${spread.length} ledgers (3 masters) c${concurrency}`, manyLedgers, masters);
      const [noWait, wait1] = await abba(nodes, many(plain), many(waited), { concurrency, warmupMs, durationMs });
      row(ctx, `transfer ${spread.length} ledgers, no WAIT c${concurrency}`, noWait, masters);
      row(ctx, `transfer ${spread.length} ledgers, WAIT 1 c${concurrency}`, wait1, masters);

      const spreadRatio = manyLedgers.opsPerSec / oneLedger.opsPerSec;
      const waitRatio = wait1.opsPerSec / noWait.opsPerSec;
      const busiest = (r: ClusterResult) => Math.max(...Object.values(r.masterCpuUsPerOp)) / total(r);
      summary[`c${concurrency}`] = {
        manyOverOneThroughput: spreadRatio,
        busiestMasterShare: { one: busiest(oneLedger), many: busiest(manyLedgers) },
        wait1OverNoneThroughput: waitRatio,
        wait1P50Ms: wait1.p50Ms, noWaitP50Ms: noWait.p50Ms, wait1P99Ms: wait1.p99Ms, noWaitP99Ms: noWait.p99Ms,
      };
      ctx.report.row({
        scenario: SCENARIO,
        name: `ratios c${concurrency}`,
        note: `${spread.length} ledgers / 1 ledger throughput ${spreadRatio.toFixed(2)}× (busiest master's share of Redis CPU ` +
          `${pct(busiest(oneLedger))} → ${pct(busiest(manyLedgers))}) · WAIT 1 / no WAIT throughput ${waitRatio.toFixed(2)}×, ` +
          `p50 ${noWait.p50Ms.toFixed(2)} → ${wait1.p50Ms.toFixed(2)} ms`,
        data: summary[`c${concurrency}`] as Record<string, unknown>,
      });
    }
  } finally {
    for (const app of apps) await app.close().catch(() => undefined);
    await redisCluster.stop();
  }
}

/** `perMaster` ledger names (`c<i>`) on each master, interleaved: the first is on the first master. */
async function ledgersOn(cluster: RedisCluster, masters: ClusterNodeInfo[], perMaster: number): Promise<string[]> {
  const byMaster = new Map<string, string[]>(masters.map((m) => [m.address, []]));
  for (let i = 0; [...byMaster.values()].some((names) => names.length < perMaster); i++) {
    const name = `c${i}`;
    const names = byMaster.get((await cluster.owner(keySlot(name))).address);
    if (names && names.length < perMaster) names.push(name);
  }
  // round-robin over the masters, so consecutive ledgers are on different masters
  return Array.from({ length: perMaster }, (_, j) => masters.map((m) => byMaster.get(m.address)![j])).flat();
}

/** A B B A, each segment a closed loop with its own warm-up; Redis CPU per node over each measured phase. */
async function abba(nodes: NodeCpu[], a: Operation, b: Operation,
  options: { concurrency: number; warmupMs: number; durationMs: number }): Promise<[ClusterResult, ClusterResult]> {
  const segment = { concurrency: options.concurrency, warmupMs: options.warmupMs / 2, durationMs: options.durationMs / 2 };
  const a1 = await sample(nodes, a, segment);
  const b1 = await sample(nodes, b, segment);
  const b2 = await sample(nodes, b, segment);
  const a2 = await sample(nodes, a, segment);
  return [merge(nodes, [a1, a2]), merge(nodes, [b1, b2])];
}

interface CpuSample {
  sample: Sample;
  cpuSec: number[];
}

async function sample(nodes: NodeCpu[], op: Operation, options: { concurrency: number; warmupMs: number; durationMs: number }): Promise<CpuSample> {
  let before: number[] = [];
  const result = await closedLoopSample(op, { ...options, beforeMeasure: async () => { before = await cpuOf(nodes); } });
  const after = await cpuOf(nodes);
  return { sample: result, cpuSec: after.map((v, i) => v - before[i]) };
}

const cpuOf = (nodes: NodeCpu[]): Promise<number[]> => Promise.all(nodes.map(async ({ client }) => {
  const cpu = await info(client, 'cpu');
  return Number(cpu.used_cpu_user) + Number(cpu.used_cpu_sys);
}));

function merge(nodes: NodeCpu[], samples: CpuSample[]): ClusterResult {
  const result = summarize(samples.map((s) => s.sample));
  const ops = result.ok + result.failed;
  const cpu = nodes.map((_, i) => samples.reduce((sum, s) => sum + s.cpuSec[i], 0));
  const perOp = (sec: number) => (ops ? (sec * 1e6) / ops : NaN);
  const masterCpuUsPerOp: Record<string, number> = {};
  let replicas = 0;
  nodes.forEach((node, i) => {
    if (node.role === 'master') masterCpuUsPerOp[node.address] = perOp(cpu[i]);
    else replicas += cpu[i];
  });
  return { ...result, masterCpuUsPerOp, replicaCpuUsPerOp: perOp(replicas) };
}

const total = (r: ClusterResult) => Object.values(r.masterCpuUsPerOp).reduce((a, b) => a + b, 0);
const pct = (v: number) => `${Math.round(v * 100)}%`;

function row(ctx: BenchContext, name: string, result: ClusterResult, masters: ClusterNodeInfo[]): void {
  const perMaster = masters.map((m) => result.masterCpuUsPerOp[m.address].toFixed(1)).join(' / ');
  ctx.report.load(SCENARIO, name, result,
    `redis µs/op per master ${perMaster} (sum ${total(result).toFixed(1)}), replicas ${result.replicaCpuUsPerOp.toFixed(1)} · ` +
    `node ${result.nodeCpuUsPerOp.toFixed(0)} µs/op`);
}
