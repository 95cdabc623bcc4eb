/**
 * GET /metrics after real HTTP traffic on the real app: the exposition passes `promtool check metrics`, and the
 * series the operators need exist with the right labels and values — per operation × strategy × outcome, latency,
 * idempotent replays, WATCH attempts/conflicts/exhausted retries, library loads and reloads, the Redis connection,
 * the process' default metrics. Measured at the port, so the memory strategy (no Redis) has them too.
 */
import { spawnSync } from 'node:child_process';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AtomicMetrics, AtomicMetricsModule } from '@kernel/nest';
import { AccountsModule } from '../../src/accounts/accounts.module';
import type { AccountsLedger } from '../../src/accounts/accounts.port';
import { getLedgerToken } from '../../src/accounts/accounts.tokens';
import { WatchRunner } from '@kernel/redis';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

/** `name{labels} value` lines of an exposition, as [series, value]. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The value of the one series with this name whose labels include all of `labels` (each `k="v"`). */
function value(all: Map<string, number>, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const found = [...all].filter(([series]) =>
    (series === name || series.startsWith(`${name}{`)) && wanted.every((l) => series.includes(l)));
  if (found.length > 1) throw new Error(`${found.length} series match ${name} ${JSON.stringify(labels)}: ${found.map(([s]) => s).join(', ')}`);
  return found[0]?.[1];
}

function promtool(exposition: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw run.error; // promtool not installed: .ci/run installs it (Debian package `prometheus`)
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe.each(['functions', 'transactions', 'memory'] as const)('GET /metrics, strategy %s', (strategy) => {
  let server: RedisServer | undefined;
  let app: NestFastifyApplication;
  let base: string;

  beforeAll(async () => {
    if (strategy !== 'memory') server = await RedisServer.start();
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1' }), { logger: false });
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  const post = (path: string, body: unknown, key?: string) => fetch(base + path, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
  }).then(async (res) => ({ status: res.status, body: await res.json() }));

  it('counts real traffic by operation, strategy and outcome; the exposition passes promtool', async () => {
    expect((await post('/accounts', { id: 'a', balance: 100 })).status).toBe(201);
    expect((await post('/accounts', { id: 'b' })).status).toBe(201);
    expect((await post('/accounts', { id: 'a' })).status).toBe(409); // ACCOUNT_EXISTS
    for (let i = 0; i < 3; i++) expect((await post('/transfers', { from: 'a', to: 'b', amount: 10 })).status).toBe(201);
    expect((await post('/transfers', { from: 'a', to: 'b', amount: 1000 })).status).toBe(422); // INSUFFICIENT_FUNDS
    expect((await post('/transfers', { from: 'a', to: 'b', amount: 1 }, 'k-1')).status).toBe(201);
    expect((await post('/transfers', { from: 'a', to: 'b', amount: 1 }, 'k-1')).status).toBe(201); // replayed
    expect((await post('/transfers', { from: 'a', to: 'a', amount: 1 })).status).toBe(400); // VALIDATION_FAILED, at the gate
    expect((await fetch(`${base}/accounts/nobody`)).status).toBe(404);
    expect((await fetch(`${base}/inventory/widget`)).status).toBe(404);
    expect((await post('/kv/transactions', { updates: [{ op: 'set', key: 'x', value: '1' }] })).status).toBe(200);

    const scrape = await fetch(`${base}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(promtool(text)).toEqual({ status: 0, output: '' });

    const all = samples(text);
    const op = (operation: string, outcome: string, module = 'accounts') =>
      value(all, 'redis_atomic_operations_total', { module, instance: 'default', operation, strategy, outcome });
    expect(op('open', 'ok')).toBe(2);
    expect(op('open', 'ACCOUNT_EXISTS')).toBe(1);
    expect(op('transfer', 'ok')).toBe(5); // 3 + the keyed one + its replay
    expect(op('transfer', 'INSUFFICIENT_FUNDS')).toBe(1);
    expect(op('transfer', 'VALIDATION_FAILED')).toBe(1);
    expect(op('get', 'ACCOUNT_NOT_FOUND')).toBe(1);
    expect(op('get', 'PRODUCT_NOT_FOUND', 'inventory')).toBe(1);
    expect(op('transaction', 'ok', 'kv')).toBe(1);
    expect(value(all, 'redis_atomic_idempotent_replays_total', { module: 'accounts', operation: 'transfer', strategy })).toBe(1);
    expect(value(all, 'redis_atomic_operation_duration_seconds_count', { module: 'accounts', operation: 'transfer', strategy })).toBe(7);
    expect(value(all, 'redis_atomic_operation_duration_seconds_bucket', { module: 'accounts', operation: 'transfer', strategy, le: '+Inf' })).toBe(7);
    expect(value(all, 'process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(value(all, 'nodejs_eventloop_lag_seconds')).toBeDefined();

    if (strategy === 'memory') {
      expect(value(all, 'redis_atomic_redis_up')).toBeUndefined(); // no Redis at all
      expect(value(all, 'redis_atomic_function_loads_total', { library: 'accounts' })).toBeUndefined();
    } else {
      expect(value(all, 'redis_atomic_redis_up')).toBe(1);
      expect(value(all, 'redis_atomic_redis_connects_total')).toBe(1);
    }
    if (strategy === 'functions') {
      for (const library of ['accounts', 'inventory', 'orders', 'kv']) {
        expect(value(all, 'redis_atomic_function_loads_total', { library, reason: 'load', result: 'ok' })).toBe(1);
      }
      expect(value(all, 'redis_atomic_function_loads_total', { library: 'accounts', reason: 'reload' })).toBeUndefined();
    }
    if (strategy === 'transactions') {
      // every transfer, keyed or not, is one WATCH transaction here (they read balances first); no contention yet
      expect(value(all, 'redis_atomic_watch_attempts_total')).toBeGreaterThanOrEqual(6);
      expect(value(all, 'redis_atomic_watch_conflicts_total')).toBe(0);
      expect(value(all, 'redis_atomic_watch_exhausted_total')).toBe(0);
    }
  });

  if (strategy === 'functions') {
    it('a library the server lost is counted as a reload, after the call that reloaded it', async () => {
      await server!.client().function('FLUSH');
      expect((await fetch(`${base}/accounts/a`)).status).toBe(200);
      const all = samples(await (await fetch(`${base}/metrics`)).text());
      expect(value(all, 'redis_atomic_function_loads_total', { library: 'accounts', reason: 'reload', result: 'ok' })).toBe(1);
    });

    it('Redis down: redis_up 0 and STORE_UNAVAILABLE counted', async () => {
      await server!.kill();
      try {
        expect((await fetch(`${base}/accounts/a`)).status).toBe(503);
        const all = samples(await (await fetch(`${base}/metrics`)).text());
        expect(value(all, 'redis_atomic_redis_up')).toBe(0);
        expect(value(all, 'redis_atomic_operations_total', { module: 'accounts', operation: 'get', strategy, outcome: 'STORE_UNAVAILABLE' })).toBe(1);
      } finally {
        await server!.restart();
      }
    });
  }

  if (strategy === 'transactions') {
    it('contention on one key: WATCH conflicts counted', async () => {
      // Another process's writes (our admin client) change the watched balance between the app's WATCH and EXEC.
      const admin = server!.client();
      const key = 'ra:{main}:acct:a';
      let stop = false;
      const writer = (async () => {
        while (!stop) await admin.hincrby(key, 'b', 0); // the balance field, unchanged — but the key is touched
      })();
      try {
        await Promise.all(Array.from({ length: 8 }, () => post('/accounts/a/deposit', { amount: 1 })));
      } finally {
        stop = true;
        await writer;
      }
      const all = samples(await (await fetch(`${base}/metrics`)).text());
      expect(value(all, 'redis_atomic_watch_conflicts_total')).toBeGreaterThan(0);
      expect(value(all, 'redis_atomic_watch_attempts_total')).toBeGreaterThan(value(all, 'redis_atomic_watch_conflicts_total')!);
    });
  }
});

describe('WATCH retries exhausted', () => {
  it('a key changed before every EXEC: attempts and conflicts up to the budget, then one exhausted (CONFLICT)', async () => {
    const server = await RedisServer.start();
    const [client, other] = [server.client(), server.client()];
    const metrics = new AtomicMetrics({ defaultMetrics: false }, client);
    const runner = new WatchRunner(client, { maxAttempts: 3, baseDelayMs: 0, maxDelayMs: 0 }, metrics);
    try {
      const run = runner.run(['k'], async (connection) => {
        await connection.get('k');
        await other.incr('k'); // another client changes the watched key: this EXEC will abort
        return { write: (multi) => multi.set('k', 'mine'), result: () => 'written' };
      });
      await expect(run).rejects.toMatchObject({ code: 'CONFLICT' });
      const all = samples(await metrics.metrics());
      expect(promtool(await metrics.metrics()).status).toBe(0);
      expect([value(all, 'redis_atomic_watch_attempts_total'), value(all, 'redis_atomic_watch_conflicts_total'),
        value(all, 'redis_atomic_watch_exhausted_total')]).toEqual([3, 3, 1]);
      expect(await other.get('k')).toBe('3'); // never written by the transaction
    } finally {
      runner.close();
      await server.stop();
    }
  });
});

describe('metrics in an app that embeds the modules (no HTTP, its own registry)', () => {
  it('a named instance\'s port is measured into the host\'s registry; nothing else is added to it', async () => {
    const registry = new Registry();
    const moduleRef = await Test.createTestingModule({
      imports: [AtomicMetricsModule.forRoot({ registry }), AccountsModule.forRoot({ strategy: 'memory', name: 'payroll' })],
    }).compile();
    try {
      const ledger = moduleRef.get<AccountsLedger>(getLedgerToken('payroll'));
      await ledger.open({ id: 'company', balance: 10 });
      await expect(ledger.get('nobody')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
      expect(await ledger.get('company')).toMatchObject({ id: 'company', balance: 10, minBalance: 0, available: 10 }); // the port works as before
      const text = await registry.metrics();
      expect(promtool(text).status).toBe(0);
      const all = samples(text);
      const labels = { module: 'accounts', instance: 'payroll', strategy: 'memory' };
      expect(value(all, 'redis_atomic_operations_total', { ...labels, operation: 'open', outcome: 'ok' })).toBe(1);
      expect(value(all, 'redis_atomic_operations_total', { ...labels, operation: 'get', outcome: 'ok' })).toBe(1);
      expect(value(all, 'redis_atomic_operations_total', { ...labels, operation: 'get', outcome: 'ACCOUNT_NOT_FOUND' })).toBe(1);
      expect(value(all, 'process_cpu_seconds_total')).toBeUndefined(); // the host decides about default metrics
      expect(text).not.toContain('redis_atomic_redis_up'); // no Redis in this app
    } finally {
      await moduleRef.close();
    }
  });
});
