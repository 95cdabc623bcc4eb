import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RedisServer } from '@kernel/testing';
import { BenchContext } from './lib/context';
import { redisVersion } from './lib/redis-stats';
import { Report } from './lib/report';
import { cluster } from './scenarios/cluster';
import { floors } from './scenarios/floors';
import { http } from './scenarios/http';
import { orders } from './scenarios/orders';
import { postgres } from './scenarios/postgres';
import { scale } from './scenarios/scale';
import { strategies } from './scenarios/strategies';
import { crossShard } from './scenarios/cross-shard';

/**
 * npm run bench [-- --quick] [-- --only=strategies,floors,cluster]
 *
 * Everything runs against a PRIVATE redis-server on a free port (never the Redis on 6379). Node, Redis and
 * the load generators share this machine's cores, so every target is a ratio of two numbers measured in the
 * same run. Misses are reported, never fatal. Results: bench/results/latest.json and latest.svg (only.* for --only).
 */
const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<void>> = {
  strategies, floors, http, postgres, scale, orders, cluster, crossshard: crossShard,
};

async function main(): Promise<void> {
  const started = performance.now();
  const quick = process.argv.includes('--quick');
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  // 5 min, plus up to 1 min for the cluster scenario (a local 3 + 3 cluster started and measured; --quick skips it)
  const budgetMs = quick ? 60_000 : 360_000;
  // Safety net: every loop is bounded on its own; this only catches a hang nobody foresaw.
  const watchdog = setTimeout(() => {
    console.error(`bench exceeded its ${budgetMs / 1000} s budget; stopping`);
    process.exit(2);
  }, budgetMs + 120_000); // a loaded machine stretches every phase; the budget itself is reported, not enforced
  watchdog.unref();

  const root = resolve(__dirname, '..');
  const server = await RedisServer.start();
  const admin = server.client();
  const report = new Report();
  const ctx: BenchContext = {
    quick, root, server, admin, report,
    concurrencies: quick ? [16] : [16, 128],
    warmupMs: quick ? 200 : 700,
    measureMs: quick ? 700 : 2500,
  };
  const env = {
    node: process.version,
    redis: await redisVersion(admin),
    ioredis: require('ioredis/package.json').version as string,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: `${process.platform} ${process.arch}`,
    commit: git(root, ['rev-parse', '--short', 'HEAD'])?.trim(),
    // Paths that differ from that commit (the code measured is the working tree's), bench/results aside.
    uncommitted: git(root, ['status', '--porcelain'])?.split('\n').filter((l) => l.trim() && !l.includes('bench/results/'))
      .map((l) => l.slice(3)),
  };
  console.log(`redis-atomic bench${quick ? ' (quick)' : ''} — node ${env.node}, redis ${env.redis}, ${env.cpus} CPUs, ` +
    `private redis-server on :${server.port} · commit ${env.commit ?? '?'}` +
    `${env.uncommitted?.length ? ` + ${env.uncommitted.length} uncommitted paths` : ''}`);
  console.log(`  ${'scenario'.padEnd(11)} ${'name'.padEnd(44)} ${'ops/s'.padStart(10)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  notes`);

  const timings: Record<string, number> = {};
  try {
    for (const [name, scenario] of Object.entries(SCENARIOS)) {
      if (only && !only.includes(name)) continue;
      const t0 = performance.now();
      try {
        await scenario(ctx);
      } catch (err) {
        report.row({ scenario: name, name: 'scenario failed', note: (err as Error).stack?.split('\n').slice(0, 3).join(' | ') });
      }
      timings[name] = Math.round(performance.now() - t0);
    }
  } finally {
    await server.stop();
  }

  const totalMs = Math.round(performance.now() - started);
  console.log(`\n${report.table()}\n`);
  const results = join(__dirname, 'results');
  const meta = {
    generatedAt: new Date().toISOString(),
    quick,
    env,
    settings: { concurrencies: ctx.concurrencies, warmupMs: ctx.warmupMs, measureMs: ctx.measureMs },
    durationMs: { total: totalMs, ...timings },
  };
  const name = only ? 'only' : 'latest'; // a partial run does not replace the last complete one
  report.writeJson(join(results, `${name}.json`), { ...meta, only });
  report.writeSvg(join(results, `${name}.svg`), `redis-atomic bench${quick ? ' (quick)' : ''} — ${env.cpus} CPUs, node ${env.node}, ` +
    `redis ${env.redis}, ${meta.generatedAt.slice(0, 10)}`);
  console.log(`wrote bench/results/${name}.json and ${name}.svg — ${(totalMs / 1000).toFixed(1)} s ` +
    `(budget ${budgetMs / 1000} s${totalMs > budgetMs ? ', EXCEEDED' : ''})`);
}

function git(root: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

main().then(
  () => process.exit(0), // stray sockets (a PG pool, a child's pipe) must not keep the bench alive
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
