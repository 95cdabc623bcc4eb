/**
 * `npm run demo` (demo/run.ts) against the real service process (src/main.ts, as `npm start` runs it): on the memory
 * strategy and on the functions strategy with a private redis-server, to completion; and its exit code when the
 * service is not there.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { freePort, RedisServer } from '@kernel/testing';
import { PROCESS_LIMIT_MS, ROOT, runProcess } from '../support/cli';

jest.setTimeout(3 * PROCESS_LIMIT_MS);

const tsNode = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

/** Starts the service process and resolves once it listens; `stop()` ends it by its PID. */
async function startService(env: NodeJS.ProcessEnv): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...tsNode, 'src/main.ts'], {
    cwd: ROOT, env: { ...process.env, NO_COLOR: '1', PORT: String(port), ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the service did not start within ${PROCESS_LIMIT_MS} ms: ${output}`)), PROCESS_LIMIT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/listening on :\d+/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited with ${code}: ${output}`));
    });
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return { url: `http://127.0.0.1:${port}`, stop };
}

const runDemo = (baseUrl: string) => runProcess(process.execPath, [...tsNode, 'demo/run.ts'], { BASE_URL: baseUrl });

function expectCompleted(run: Awaited<ReturnType<typeof runDemo>>): void {
  expect({ code: run.code, timedOut: run.timedOut, stderr: run.stderr }).toEqual({ code: 0, timedOut: false, stderr: '' });
  for (let n = 1; n <= 6; n++) expect(run.stdout).toContain(`━━ Step ${n}: `);
  expect(run.stdout).toMatch(/20 × POST \/transfers .* → 10 × 201, 10 refused \(INSUFFICIENT_FUNDS\)/);
  expect(run.stdout).toMatch(/→ 201 Idempotent-Replayed: true/);
  expect(run.stdout).toMatch(/→ 422 OUT_OF_STOCK at line 1/);
  expect(run.stdout).toMatch(/→ 409 CONDITION_FAILED: condition 1 does not hold/);
  expect(run.stdout).toMatch(/→ 201 applied 3 transfers/);
  expect(run.stdout).toMatch(/→ 422 INSUFFICIENT_FUNDS at item 1: the first transfer is not applied either/);
  expect(run.stdout).not.toContain('✗');
  expect(run.stdout).toContain('demo finished: all six steps behaved as described');
}

describe('npm run demo against the running service', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('walks the six steps to completion: memory strategy, and functions on a private Redis (twice: ids never collide)', async () => {
    const [memory, functions] = await Promise.all([
      startService({ ATOMIC_STRATEGY: 'memory' }),
      startService({ ATOMIC_STRATEGY: 'functions', REDIS_URL: redis.url }),
    ]);
    try {
      const [onMemory, onFunctions] = await Promise.all([runDemo(memory.url), runDemo(functions.url)]);
      expectCompleted(onMemory);
      expect(onMemory.stdout).toContain('strategy memory, store memory');
      expectCompleted(onFunctions);
      expect(onFunctions.stdout).toContain('strategy functions, store redis');
      expect(onFunctions.stdout).toMatch(/library accounts: version (\S+) on the server, \1 expected/);
      expectCompleted(await runDemo(functions.url));
    } finally {
      await Promise.all([memory.stop(), functions.stop()]);
    }
  });

  it('exits 2 with a hint when no service listens at BASE_URL', async () => {
    const run = await runDemo(`http://127.0.0.1:${await freePort()}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot reach the service at http:\/\/127\.0\.0\.1:\d+/);
    expect(run.stderr).toContain('npm start');
  });
});
