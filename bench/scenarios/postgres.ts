import { Pool, PoolConfig } from 'pg';
import { BenchContext, loadOptions } from '../lib/context';
import { accountIds, BALANCE, benchLedger, populate, randomPair, randomTransfer } from '../lib/ledgers';
import { closedLoop, LoadResult } from '../lib/measure';

/**
 * 4. PostgreSQL: the same transfer workload (amount 1 between two random accounts) with `pg` on
 * 127.0.0.1:5432, database `test`: BEGIN; SELECT … FOR UPDATE of both rows in id order; two UPDATEs; COMMIT,
 * on a pool sized like the concurrency. Compared with the functions strategy measured right before, at the
 * same concurrency, same accounts. PostgreSQL writes no history here (ours pushes one entry on each account's
 * capped history list), and commits are durable (synchronous_commit on) while the bench Redis persists
 * nothing: a `synchronous_commit = off` row shows how much of the gap is the WAL flush. Unreachable
 * PostgreSQL → one row saying so.
 */
const SCENARIO = 'postgres';
const TABLE = 'bench_accounts';

export async function postgres(ctx: BenchContext): Promise<void> {
  const concurrency = ctx.concurrencies[0];
  const pools = { low: accountIds('a', 10_000), hot: accountIds('h', 8) };
  const config = await reachable({ max: concurrency });
  if (typeof config === 'string') {
    ctx.report.row({ scenario: SCENARIO, name: 'PostgreSQL 127.0.0.1:5432/test', note: `unreachable, skipped: ${config}` });
    return;
  }

  // Ours first, same concurrency and accounts.
  const ours: Record<string, LoadResult> = {};
  const bench = await benchLedger('functions', ctx.server.url, 'pgcmp');
  try {
    await populate(ctx.admin, 'pgcmp', [...pools.low, ...pools.hot]);
    for (const contention of ['low', 'hot'] as const) {
      ours[contention] = await closedLoop(() => bench.ledger.transfer(randomTransfer(pools[contention])), loadOptions(ctx, concurrency));
      ctx.report.load(SCENARIO, `functions ${contention} c${concurrency} (reference)`, ours[contention]);
    }
  } finally {
    await bench.close();
  }

  const pool = new Pool(config);
  pool.on('error', () => undefined);
  try {
    const version = (await pool.query('SHOW server_version')).rows[0].server_version as string;
    await pool.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (id text PRIMARY KEY, balance bigint NOT NULL)`);
    await pool.query(`TRUNCATE ${TABLE}`);
    await pool.query(`INSERT INTO ${TABLE} SELECT id, $1 FROM unnest($2::text[]) AS id`, [BALANCE, [...pools.low, ...pools.hot]]);
    await pool.query(`ANALYZE ${TABLE}`);
    const runs: [string, 'low' | 'hot', Pool][] = [['low', 'low', pool], ['hot', 'hot', pool]];
    const asyncPool = ctx.quick ? undefined : new Pool({ ...config, options: '-c synchronous_commit=off' });
    asyncPool?.on('error', () => undefined);
    if (asyncPool) runs.push(['low, synchronous_commit=off', 'low', asyncPool]);
    const pg: Record<string, LoadResult> = {};
    for (const [label, contention, p] of runs) {
      const result = await closedLoop(() => transfer(p, pools[contention]), loadOptions(ctx, concurrency));
      pg[label] = result;
      ctx.report.load(SCENARIO, `PostgreSQL ${version.split(' ')[0]} ${label} c${concurrency}`, result,
        `pool ${concurrency} · 5 round trips`);
    }
    await asyncPool?.end();
    for (const [contention, target] of [['low', 10], ['hot', 20]] as const) {
      ctx.report.target({
        scenario: SCENARIO, name: `functions / PostgreSQL, ${contention} contention c${concurrency}`,
        value: ours[contention].opsPerSec / pg[contention].opsPerSec, op: '>=', target, unit: 'x',
        detail: `PG with durable commits, no history rows` + (pg['low, synchronous_commit=off'] && contention === 'low'
          ? `; vs synchronous_commit=off: ${(ours.low.opsPerSec / pg['low, synchronous_commit=off'].opsPerSec).toFixed(1)}×` : ''),
      });
    }
    await pool.query(`DROP TABLE ${TABLE}`);
  } finally {
    await pool.end();
  }
}

async function transfer(pool: Pool, ids: readonly string[]): Promise<void> {
  const [from, to] = randomPair(ids);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ id: string; balance: string }>(
      `SELECT id, balance FROM ${TABLE} WHERE id = ANY($1) ORDER BY id FOR UPDATE`, [[from, to]]);
    const source = rows.find((r) => r.id === from);
    if (rows.length !== 2 || !source || BigInt(source.balance) < 1n) throw new Error('transfer refused');
    await client.query(`UPDATE ${TABLE} SET balance = balance - 1 WHERE id = $1`, [from]);
    await client.query(`UPDATE ${TABLE} SET balance = balance + 1 WHERE id = $1`, [to]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** The first of user postgres / root that connects (trust auth), or why none did. */
async function reachable(extra: PoolConfig): Promise<PoolConfig | string> {
  let reason = '';
  for (const user of ['postgres', 'root']) {
    const config: PoolConfig = {
      host: '127.0.0.1', port: 5432, database: 'test', user, connectionTimeoutMillis: 2000,
      statement_timeout: 10_000, query_timeout: 15_000, ...extra,
    };
    const pool = new Pool({ ...config, max: 1 });
    pool.on('error', () => undefined);
    try {
      await pool.query('SELECT 1');
      return config;
    } catch (err) {
      reason = (err as Error).message;
    } finally {
      await pool.end().catch(() => undefined);
    }
  }
  return reason;
}
