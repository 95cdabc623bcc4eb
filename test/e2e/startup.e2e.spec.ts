/**
 * Start-up without Redis: createApp fails with one typed error naming the address, and the service process
 * (src/main.ts) exits non-zero at once with one clear line naming both fixes. Nothing listens on the port
 * used here: it is probed free and left closed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AtomicError, isAtomicError } from '@kernel/core';
import { freePort } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { compiledService } from '../support/compiled-service';

const ROOT = join(__dirname, '..', '..');
const EXIT_LIMIT_MS = 60_000; // generous, on a loaded 2-core machine (the service is compiled once: compiled-service.ts)

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when we had to kill it: it did not exit by itself in time. */
  timedOut: boolean;
  output: string;
  lines: string[];
}

/** Runs src/main.ts like `npm start` would (compiled), until it exits or `stopWhen` matches its output. */
function runMain(env: NodeJS.ProcessEnv, stopWhen?: RegExp): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [compiledService()], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let timedOut = false;
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (stopWhen?.test(output)) child.kill('SIGTERM');
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, EXIT_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
      resolve({ code, signal, timedOut, output: plain, lines: plain.split('\n').filter((line) => line.trim() !== '') });
    });
  });
}

describe('start-up when Redis is unreachable', () => {
  let port: number;
  let url: string;

  beforeAll(async () => {
    port = await freePort();
    url = `redis://127.0.0.1:${port}`;
  });

  it.each(['functions', 'transactions'] as const)('createApp (%s) rejects with STORE_UNAVAILABLE naming the address', async (strategy) => {
    const failure = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: url }), { logger: false })
      .then(async (app) => {
        await app.close();
        return new Error('createApp resolved');
      }, (err: unknown) => err);
    expect(failure).toBeInstanceOf(AtomicError);
    expect(isAtomicError(failure, 'STORE_UNAVAILABLE')).toBe(true);
    expect((failure as AtomicError).message).toContain(`127.0.0.1:${port}`);
  });

  it('createApp with the memory strategy does not need Redis at all', async () => {
    const app = await createApp(loadConfig({ ATOMIC_STRATEGY: 'memory', REDIS_URL: url }), { logger: false });
    await app.init();
    const res = await app.inject({ method: 'GET', url: '/health' });
    expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 200, body: { status: 'ok', store: 'memory', strategy: 'memory' } });
    await app.close();
  });

  describe('the service process (src/main.ts)', () => {
    let run: Run;

    beforeAll(async () => {
      run = await runMain({ REDIS_URL: url, ATOMIC_STRATEGY: 'functions', PORT: String(await freePort()) });
    }, EXIT_LIMIT_MS + 5_000);

    it(`exits by itself, non-zero, within ${EXIT_LIMIT_MS / 1000} s`, () => {
      expect({ timedOut: run.timedOut, signal: run.signal }).toEqual({ timedOut: false, signal: null });
      expect(run.code).not.toBe(0);
      expect(run.code).not.toBeNull();
    });

    it('prints exactly one line that names both fixes: start Redis, or ATOMIC_STRATEGY=memory', () => {
      const fixes = run.lines.filter((line) => /start Redis|redis-server/i.test(line) && line.includes('ATOMIC_STRATEGY=memory'));
      expect(fixes).toHaveLength(1);
      expect(run.output).toContain(`127.0.0.1:${port}`);
    });

    it('says it once, as one clear message: no stack trace, no second copy of the error', () => {
      const stack = run.lines.filter((line) => /^\s+at /.test(line));
      expect(stack).toEqual([]);
      const mentions = run.lines.filter((line) => line.includes(`127.0.0.1:${port}`));
      expect(mentions).toHaveLength(1);
    });
  });

  it('the suggested fix works: ATOMIC_STRATEGY=memory starts and listens without Redis', async () => {
    const run = await runMain({ REDIS_URL: url, ATOMIC_STRATEGY: 'memory', PORT: String(await freePort()) }, /listening on/);
    expect(run.timedOut).toBe(false);
    expect(run.output).toMatch(/listening on :\d+ — strategy memory/);
    expect(run.output).not.toContain('failed to start');
  }, EXIT_LIMIT_MS + 5_000);
});
