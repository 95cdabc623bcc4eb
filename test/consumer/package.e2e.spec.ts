/**
 * The package as a new user gets it: `npm pack`, the tarball installed into a fresh Nest app outside the
 * repository (with its own Express and Fastify platforms), a strict TypeScript consumer compiled against the
 * public entry points only, then run: the memory strategy with no Redis, the functions strategy on a private
 * Redis with the Lua libraries loaded from the installed package.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, RedisServer } from '@kernel/testing';

const ROOT = join(__dirname, '..', '..');
const SETUP_MS = 240_000; // build + pack + install + compile on a loaded 2-core machine
const START_MS = 60_000;

/** The versions this repository is tested with, so the host app gets the same ones (and npm's cache serves them). */
const version = (name: string): string => JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
const HOST_DEPENDENCIES = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', '@nestjs/platform-fastify', 'ioredis',
  'class-validator', 'class-transformer', 'reflect-metadata', 'rxjs',
  // the service's own (optional peers), for `redis-atomic serve`; @nestjs/swagger is left out: the docs are then off
  '@nestjs/terminus', 'nestjs-pino', 'pino', 'pino-http', 'prom-client'];
const HOST_DEV_DEPENDENCIES = ['typescript', '@types/node', '@nestjs/testing'];

let app: string;
let tarball: string;
let files: string[];
let readmeExamples: string[];

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
}

beforeAll(() => {
  app = mkdtempSync(join(tmpdir(), 'redis-atomic-consumer-'));
  const output = run('npm', ['pack', '--json', '--pack-destination', app], ROOT); // prepack's build prints its lines first
  const packed = JSON.parse(output.slice(output.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(app, packed[0].filename);
  files = packed[0].files.map((f) => f.path);
  cpSync(join(__dirname, 'fixture'), app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({
    name: 'host-app', private: true,
    dependencies: Object.fromEntries(HOST_DEPENDENCIES.map((name) => [name, version(name)])),
    devDependencies: Object.fromEntries(HOST_DEV_DEPENDENCIES.map((name) => [name, version(name)])),
  }, null, 2));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], app);
  const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], app); // classic resolution (typesVersions), emits dist/
  run(process.execPath, [tsc, '-p', 'tsconfig.node16.json'], app); // node16 resolution (the exports map's types)
  readmeExamples = writeReadmeExamples(join(app, 'node_modules', 'redis-atomic', 'README.md'));
  run(process.execPath, [tsc, '-p', 'tsconfig.readme.json'], app); // the README's examples, as written
}, SETUP_MS);

afterAll(() => {
  if (app) rmSync(app, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships the build, its declarations, the Lua libraries and the README — no TypeScript sources, tests or bench', () => {
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts',
      'dist/src/cli.js', 'dist/libs/redis-atomic/src/testing/index.js', 'lua/accounts.lua', 'lua/orders.lua', 'lua/include/core.lua',
      'dist/functions/accounts.lua', 'dist/functions/versions.json']));
    const stray = files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /^(test|bench|src|libs)\//.test(f) ||
      f.endsWith('.map') || f.includes('.spec.'));
    expect(stray).toEqual([]);
  });

  it('leaves no path alias in the build (tsc-alias rewrote every @kernel import)', () => {
    const pkg = join(app, 'node_modules', 'redis-atomic');
    const built = files.filter((f) => /\.(js|d\.ts)$/.test(f)).map((f) => readFileSync(join(pkg, f), 'utf8'));
    expect(built.length).toBeGreaterThan(50);
    expect(built.filter((text) => /(require\(|from )['"]@kernel/.test(text))).toEqual([]);
  });

  it('declares the Nest packages, ioredis, class-validator/transformer, reflect-metadata and rxjs as peers', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'redis-atomic', 'package.json'), 'utf8'));
    expect(Object.keys(manifest.peerDependencies).sort()).toEqual(expect.arrayContaining(['@nestjs/common', '@nestjs/core', 'class-transformer',
      'class-validator', 'ioredis', 'reflect-metadata', 'rxjs']));
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(manifest.private).toBeUndefined();
  });

  it('compiled the strict consumer (public entry points only) without a type error, with classic and node16 resolution', () => {
    expect(existsSync(join(app, 'dist', 'app.js'))).toBe(true);
    expect(readdirSync(join(app, 'dist'))).toEqual(expect.arrayContaining(['app.js', 'testing.js']));
  });

  it('compiles the README\'s "Use it in your own Nest app" examples as written', () => {
    expect(readmeExamples.length).toBeGreaterThanOrEqual(3);
    expect(readmeExamples.join('\n')).toContain("from 'redis-atomic'");
  });

  it('runs the testing entry point: a private Redis, keyspace snapshots, and the nothing-written check (which bites)', () => {
    expect(JSON.parse(run(process.execPath, ['dist/testing.js'], app).trim())).toEqual({ changed: true, refused: true, caught: 'caught' });
  }, START_MS);

  it('runs the service from the package bin (redis-atomic serve) on the memory strategy', async () => {
    const port = await freePort();
    const host = await start(join('node_modules', '.bin', 'redis-atomic'), ['serve'], { ATOMIC_STRATEGY: 'memory', PORT: String(port) }, /listening on/);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/accounts`, post({ id: 'a', balance: 5 }));
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 201, body: { id: 'a', balance: 5, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 5 } });
    } finally {
      await host.stop();
    }
  }, START_MS);
});

describe.each([
  ['express', 'memory'],
  ['fastify', 'memory'],
  ['express', 'functions'],
  ['fastify', 'functions'],
])('a host app on %s, %s strategy', (platform, strategy) => {
  let redis: RedisServer | undefined;
  let host: Host;
  let base: string;

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { PLATFORM: platform, STRATEGY: strategy, PORT: String(await freePort()) };
    if (strategy !== 'memory') {
      redis = await RedisServer.start();
      env.REDIS_URL = redis.url;
    } else {
      env.REDIS_URL = 'redis://127.0.0.1:1'; // nothing listens there: the memory strategy must not try it
    }
    host = await start(process.execPath, ['dist/app.js'], env, /listening/);
    base = `http://127.0.0.1:${env.PORT}`;
  }, START_MS);

  afterAll(async () => {
    await host?.stop();
    await redis?.stop();
  });

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, { method, headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json().catch(() => null) };
  };

  it('mounts the routes with their own statuses: 201, 422 INSUFFICIENT_FUNDS, 404 ACCOUNT_NOT_FOUND, 409 ACCOUNT_EXISTS', async () => {
    expect(await call('POST', '/accounts', { id: 'alice', balance: 100 })).toMatchObject({ status: 201, body: { id: 'alice', balance: 100 } });
    expect(await call('POST', '/accounts', { id: 'bob' })).toMatchObject({ status: 201 });
    expect(await call('POST', '/accounts', { id: 'bob' })).toMatchObject({ status: 409, body: { code: 'ACCOUNT_EXISTS' } });
    expect(await call('POST', '/transfers', { from: 'alice', to: 'bob', amount: 1000 }))
      .toMatchObject({ status: 422, body: { statusCode: 422, code: 'INSUFFICIENT_FUNDS' } });
    expect(await call('GET', '/accounts/nobody')).toMatchObject({ status: 404, body: { code: 'ACCOUNT_NOT_FOUND' } });
    expect(await call('POST', '/orders', { userId: 'u1', items: [{ productId: 'nothing', quantity: 1, unitPrice: 1 }] }))
      .toMatchObject({ status: 404, body: { code: 'PRODUCT_NOT_FOUND' } });
  });

  it('refuses "10" and unknown fields with 400 VALIDATION_FAILED, whatever the host\'s own global pipe would do, and writes nothing', async () => {
    expect(await call('POST', '/transfers', { from: 'alice', to: 'bob', amount: '10' })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call('POST', '/transfers', { from: 'alice', to: 'bob', amount: 10, note: 'x' }))
      .toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', errors: ['property note should not exist'] } });
    expect(await call('POST', '/accounts', { id: 'carol', balance: 1, constructor: 1 })).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await call('GET', '/accounts/carol')).toMatchObject({ status: 404 });
    expect(await call('GET', '/accounts/alice')).toMatchObject({ status: 200, body: { balance: 100 } });
  });

  it('marks replays with Idempotent-Replayed, for results and for business failures', async () => {
    const key = { 'idempotency-key': `t-${platform}-${strategy}` };
    const first = await call('POST', '/transfers', { from: 'alice', to: 'bob', amount: 10 }, key);
    const again = await call('POST', '/transfers', { from: 'alice', to: 'bob', amount: 10 }, key);
    expect(first).toMatchObject({ status: 201, replayed: null });
    expect(again).toEqual({ ...first, replayed: 'true' });
    const failKey = { 'idempotency-key': `f-${platform}-${strategy}` };
    expect(await call('POST', '/transfers', { from: 'bob', to: 'alice', amount: 999 }, failKey)).toMatchObject({ status: 422, replayed: null });
    expect(await call('POST', '/transfers', { from: 'bob', to: 'alice', amount: 999 }, failKey))
      .toMatchObject({ status: 422, replayed: 'true', body: { code: 'INSUFFICIENT_FUNDS' } });
  });

  it('injects two named ledgers side by side (@InjectLedger), each its own shard', async () => {
    expect(await call('GET', '/host/ledgers')).toEqual({ status: 200, replayed: null,
      body: { payroll: 100, expenses: 7, replayed: true, code: 'INSUFFICIENT_FUNDS', isAtomicError: true } });
    expect(await call('GET', '/accounts/shared')).toMatchObject({ status: 404 }); // the unnamed ledger is a third one
  });

  if (strategy !== 'memory') {
    it('loaded the Lua libraries from the installed package, and runs WATCH transactions on the host\'s own keys', async () => {
      const admin = redis!.client();
      const libraries = (await admin.call('FUNCTION', 'LIST')) as unknown[][];
      expect(libraries.map((entry) => entry[1]).sort()).toEqual(['accounts', 'inventory', 'kv', 'orders']);
      const bumps = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/host/counter/c', {})));
      expect(bumps.every((b) => b.status === 201)).toBe(true);
      expect(bumps.map((b) => (b.body as { value: number }).value).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await admin.get('host:{counter}:c')).toBe('20');
    });
  }
});

/** Writes each ```ts block of the README's "Use it in your own Nest app" section to its own file, and a tsconfig for them. */
function writeReadmeExamples(readme: string): string[] {
  const text = readFileSync(readme, 'utf8');
  const section = text.slice(text.indexOf('## Use it in your own Nest app'), text.indexOf('\n## ', text.indexOf('## Use it in your own Nest app') + 5));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const names = blocks.map((code, i) => {
    writeFileSync(join(app, `readme-${i + 1}.ts`), code);
    return `readme-${i + 1}.ts`;
  });
  writeFileSync(join(app, 'tsconfig.readme.json'), JSON.stringify({ extends: './tsconfig.json', compilerOptions: { noEmit: true }, files: names }));
  return blocks;
}

interface Host {
  stop(): Promise<void>;
}

/** Starts a process in the host app's folder and resolves once its output matches `ready`. */
function start(command: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Host> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(command, args, { cwd: app, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not ready within ${START_MS} ms:\n${output}`));
    }, START_MS - 5_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve({ stop: () => stop(child) });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready:\n${output}`));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
