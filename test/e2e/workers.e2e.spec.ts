/**
 * WORKERS=2: the real service process (src/main.ts through ts-node) forks two workers sharing the port, each
 * with its own Redis connections; requests are served and the ledger stays exact; SIGTERM to the primary
 * stops every worker and the primary exits 0.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, RedisServer } from '@kernel/testing';
import { loadConfig } from '../../src/config';
import { workerCount } from '../../src/workers';

const ROOT = join(__dirname, '..', '..');
const START_MS = 90_000; // each worker compiles the service through ts-node: slow on a loaded 2-core machine

/** Pids whose parent is `pid` (from /proc). */
function children(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(d)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}

describe('WORKERS', () => {
  it('reads 1, N and auto, and refuses anything else with one line naming WORKERS', () => {
    expect(workerCount(loadConfig({}).workers)).toBe(1);
    expect(workerCount(loadConfig({ WORKERS: '3' }).workers)).toBe(3);
    expect(workerCount(loadConfig({ WORKERS: 'auto' }).workers)).toBeGreaterThanOrEqual(1);
    for (const bad of ['0', '-1', '1.5', 'two', '1e3', '1000']) expect(() => loadConfig({ WORKERS: bad })).toThrow(/^WORKERS must be a whole number from 1 to 999, or auto/);
  });

  describe('two workers behind one port', () => {
    let redis: RedisServer;
    let primary: ChildProcess;
    let output = '';
    let port: number;

    beforeAll(async () => {
      redis = await RedisServer.start();
      port = await freePort();
      primary = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'src/main.ts'], {
        cwd: ROOT,
        env: { ...process.env, WORKERS: '2', PORT: String(port), REDIS_URL: redis.url, ATOMIC_STRATEGY: 'functions', LEDGER: 'w', NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      primary.stdout!.on('data', (chunk) => (output += chunk));
      primary.stderr!.on('data', (chunk) => (output += chunk));
      for (const started = Date.now(); (output.match(/listening on/g) ?? []).length < 2; await new Promise((r) => setTimeout(r, 100))) {
        if (primary.exitCode !== null || Date.now() - started > START_MS - 5_000) throw new Error(`workers did not start:\n${output}`);
      }
    }, START_MS);

    afterAll(async () => {
      if (primary?.exitCode === null) primary.kill('SIGKILL');
      await redis?.stop();
    });

    it('runs two worker processes, each with its own Redis connection, serving one exact ledger', async () => {
      expect(children(primary.pid!)).toHaveLength(2);
      const post = (path: string, body: unknown) => fetch(`http://127.0.0.1:${port}${path}`, {
        method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify(body),
      });
      expect((await post('/accounts', { id: 'a', balance: 1000 })).status).toBe(201);
      expect((await post('/accounts', { id: 'b', balance: 1000 })).status).toBe(201);
      const statuses = await Promise.all(Array.from({ length: 100 }, (_, i) =>
        post('/transfers', i % 2 ? { from: 'a', to: 'b', amount: 3 } : { from: 'b', to: 'a', amount: 5 }).then((r) => r.status)));
      expect(statuses.every((s) => s === 201)).toBe(true);
      const admin = redis.client();
      expect(Number(await admin.hget('ra:{w}:acct:a', 'b')) + Number(await admin.hget('ra:{w}:acct:b', 'b'))).toBe(2000);
      expect(Number(await admin.hget('ra:{w}:acct:a', 'b'))).toBe(1000 + 50 * 5 - 50 * 3);
      const clients = String(await admin.call('CLIENT', 'LIST')).split('\n').filter((l) => l.includes('cmd=')).length;
      expect(clients).toBeGreaterThanOrEqual(3); // two workers' clients and ours
    });

    it('stops every worker on SIGTERM and exits 0', async () => {
      const workers = children(primary.pid!);
      const exited = new Promise<number | null>((resolve) => primary.once('exit', (code) => resolve(code)));
      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(workers.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } })).toEqual([]);
    }, 30_000);
  });
});
