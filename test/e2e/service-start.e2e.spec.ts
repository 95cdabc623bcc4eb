/**
 * The service process refusing to start, each time with ONE line that says why and names what to change, no stack
 * trace: a bad environment variable, wrong or missing Redis credentials, a port already in use. (Unreachable
 * Redis: startup.e2e.spec.ts.) The messages of every bad value are unit-tested in test/unit/config.spec.ts.
 */
import { createServer, Server } from 'node:net';
import { freePort, RedisServer } from '@kernel/testing';
import { ServiceProcess } from '../support/service-process';

const LIMIT_MS = 90_000; // ts-node compiles the service first, on a loaded 2-core machine

type Run = Awaited<ReturnType<typeof ServiceProcess.run>>;

/** Exit 1 by itself, and the one line of the failure: the only line not written by pino (JSON). */
function failureLine(run: Run): string {
  expect({ timedOut: run.timedOut, signal: run.signal, code: run.code }).toEqual({ timedOut: false, signal: null, code: 1 });
  expect(run.lines.filter((line) => /^\s+at /.test(line))).toEqual([]); // no stack trace
  const plain = run.lines.filter((line) => !line.startsWith('{'));
  expect(plain).toHaveLength(1);
  expect(plain[0]).toMatch(/^redis-atomic failed to start: /);
  return plain[0];
}

describe('the service refuses a bad environment variable with one line naming it', () => {
  const cases: [string, string][] = [
    ['ATOMIC_STRATEGY', 'bogus'], ['PORT', '99999'], ['PORT', 'abc'], ['REDIS_URL', 'notaurl'], ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['REDIS_TLS', 'yes-please'], ['MAX_BATCH', '-5'], ['HISTORY_LIMIT', '2.5'],
  ];
  let runs: Run[];

  beforeAll(async () => {
    // two at a time: each is a ts-node start
    runs = [];
    for (let i = 0; i < cases.length; i += 2) {
      runs.push(...await Promise.all(cases.slice(i, i + 2).map(([name, value]) => ServiceProcess.run({ [name]: value }, LIMIT_MS))));
    }
  }, LIMIT_MS * 4);

  it.each(cases.map((c, i) => [...c, i] as const))('%s=%s', (name, value, index) => {
    const run = runs[index];
    const line = failureLine(run);
    expect(line).toContain(`${name} must be`);
    expect(line).toContain(`(got "${value}")`);
    expect(run.lines).toHaveLength(1); // nothing else was started, nothing else was said
  });
});

describe('Redis credentials', () => {
  let server: RedisServer;
  const secret = 'hunter2-d0nt-l0g-me';

  beforeAll(async () => {
    server = await RedisServer.start(['--requirepass', secret]);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a wrong password says so (not "start Redis"), and never shows the password', async () => {
    const [wrong, missing] = await Promise.all([
      ServiceProcess.run({ REDIS_URL: `redis://:not-${secret}@127.0.0.1:${server.port}` }, LIMIT_MS),
      ServiceProcess.run({ REDIS_URL: server.url }, LIMIT_MS),
    ]);
    for (const [run, reply] of [[wrong, 'WRONGPASS'], [missing, 'NOAUTH']] as const) {
      const line = failureLine(run);
      expect(line).toContain(`Redis at 127.0.0.1:${server.port} refused the credentials: ${reply}`);
      expect(line).toContain('REDIS_PASSWORD');
      expect(line).not.toMatch(/start Redis/i);
      expect(run.output).not.toContain(secret);
    }
  }, LIMIT_MS * 2);

  it('the right password (in REDIS_PASSWORD or the URL) starts, and the logs never show it', async () => {
    const service = ServiceProcess.start({ REDIS_URL: `redis://:${secret}@127.0.0.1:${server.port}`, PORT: String(await freePort()) });
    try {
      await service.listening();
      expect(service.text).toContain(`listening on :`);
      expect(service.text).toContain(`on redis://:***@127.0.0.1:${server.port}`);
    } finally {
      service.kill('SIGTERM');
    }
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.text).not.toContain(secret);
  }, LIMIT_MS);
});

describe('the port is in use', () => {
  let blocker: Server;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '0.0.0.0', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('one clear line, said once, and nothing claims a successful start', async () => {
    const run = await ServiceProcess.run({ ATOMIC_STRATEGY: 'memory', PORT: String(port) }, LIMIT_MS);
    const line = failureLine(run);
    expect(line).toBe(`redis-atomic failed to start: PORT ${port} is already in use by another process: stop it or choose another PORT`);
    expect(run.lines.filter((l) => /EADDRINUSE|in use/.test(l))).toHaveLength(1);
    expect(run.output).not.toMatch(/successfully started|listening on/);
  }, LIMIT_MS);
});
