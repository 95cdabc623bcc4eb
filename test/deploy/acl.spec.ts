/**
 * The README's least-privilege ACL recipe, run as written on a private redis-server: the deploy user installs the
 * Lua libraries through the real CLI; the service runs as the runtime user with REDIS_LOAD_FUNCTIONS=false, for
 * both Redis strategies, through the core flows; everything outside its rights answers NOPERM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { freePort, RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { SpreadRouting } from '../../src/accounts/spread/spread-keys';
import { functionsCommand } from '../../src/cli-functions';
import { PROCESS_LIMIT_MS, ROOT, runCli, runProcess } from '../support/cli';

const quiet = { out: () => undefined, err: (line: string) => console.error(line) };

jest.setTimeout(2 * PROCESS_LIMIT_MS);

/** The `redis-cli ACL SETUSER …` lines between the README's acl-recipe markers, as argument lists. */
function recipe(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- acl-recipe -->([\s\S]*?)<!-- \/acl-recipe -->/.exec(readme)?.[1] ?? '';
  return block.split('\n').filter((line) => line.startsWith('redis-cli ACL SETUSER'))
    .map((line) => line.replace(/^redis-cli /, '').split(/\s+/).map((word) => word.replace(/^'(.*)'$/, '$1')));
}

const APP = { REDIS_USERNAME: 'ra-app', REDIS_PASSWORD: 'app-secret' };

describe('least-privilege ACL (README recipe)', () => {
  let server: RedisServer;
  let admin: Redis;
  let runtime: Redis;
  let deploy: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
    const lines = recipe();
    expect(lines.map((args) => args[2])).toEqual(['ra-deploy', 'ra-app']);
    for (const [command, ...args] of lines) await admin.call(command, ...args);
    runtime = server.client({ username: 'ra-app', password: 'app-secret' });
    deploy = server.client({ username: 'ra-deploy', password: 'deploy-secret', enableReadyCheck: false });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const env = (strategy: string, extra: NodeJS.ProcessEnv = {}) =>
    loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server.url, ...APP, LEDGER: `acl-${strategy}`, SHOP: `acl-shop-${strategy}`,
      KV_NAMESPACE: `acl-kv-${strategy}`, ...extra });

  it('before the deploy, the service (its process) as the runtime user refuses to start: it may not load (NOPERM), and verify-only names the fix', async () => {
    const service = async (extra: NodeJS.ProcessEnv) => runProcess(process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', 'src/main.ts'],
      { ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url, ...APP, PORT: String(await freePort()), ...extra });
    const [loading, verifying] = await Promise.all([service({}), service({ REDIS_LOAD_FUNCTIONS: 'false' })]);
    expect({ code: loading.code, timedOut: loading.timedOut }).toEqual({ code: 1, timedOut: false });
    expect(loading.stderr).toMatch(/NOPERM/);
    expect({ code: verifying.code, timedOut: verifying.timedOut }).toEqual({ code: 1, timedOut: false });
    expect(verifying.stderr).toMatch(/holds version none, this build needs \S+; deploy it with: redis-atomic functions load/);
    expect(await admin.call('FUNCTION', 'LIST')).toEqual([]);
  });

  it('the deploy user deploys with the CLI, and can read no data and flush nothing', async () => {
    const load = await runCli(['functions', 'load', '--url', server.url], { REDIS_USERNAME: 'ra-deploy', REDIS_PASSWORD: 'deploy-secret' });
    expect({ code: load.code, stderr: load.stderr }).toEqual({ code: 0, stderr: '' });
    expect(load.stdout).toContain('ok: 5 libraries loaded and verified'); // accounts, escrow, inventory, kv, orders
    const verify = await functionsCommand(['verify', '--url', server.url.replace('redis://', 'redis://ra-deploy:deploy-secret@')], {}, quiet);
    expect(verify).toBe(0);
    await expect(deploy.get('ra:{main}:acct:alice')).rejects.toThrow(/NOPERM/);
    await expect(deploy.call('FUNCTION', 'FLUSH')).rejects.toThrow(/NOPERM/);
    await expect(deploy.flushall()).rejects.toThrow(/NOPERM/);
  });

  describe.each(['functions', 'transactions'])('the service as the runtime user, REDIS_LOAD_FUNCTIONS=false, strategy %s', (strategy) => {
    let app: NestFastifyApplication;
    const send = async (method: 'GET' | 'POST' | 'PUT', url: string, payload?: object) => {
      const res = await app.inject({ method, url, payload });
      return { status: res.statusCode, body: res.body ? res.json() : undefined };
    };

    beforeAll(async () => {
      app = await createApp(env(strategy, { REDIS_LOAD_FUNCTIONS: 'false' }), { logger: false });
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    });

    afterAll(async () => {
      await app?.close();
    });

    it('runs the core flows: accounts transfer, order placement, kv transaction, events read; health is ok — no ACL denial', async () => {
      await admin.call('ACL', 'LOG', 'RESET');
      expect((await send('POST', '/accounts', { id: 'alice', balance: 1000 })).status).toBe(201);
      expect((await send('POST', '/accounts', { id: 'bob' })).status).toBe(201);
      expect(await send('POST', '/transfers', { from: 'alice', to: 'bob', amount: 300 }))
        .toMatchObject({ status: 201, body: { from: { id: 'alice', balance: 700 }, to: { id: 'bob', balance: 300 } } });
      expect(await send('POST', '/transfers', { from: 'bob', to: 'alice', amount: 301 })).toMatchObject({ status: 422, body: { code: 'INSUFFICIENT_FUNDS' } });
      expect((await send('GET', '/accounts/alice/history')).body.entries).toHaveLength(1);

      expect((await send('PUT', '/inventory/widget', { stock: 5 })).status).toBe(200);
      expect(await send('POST', '/orders', { id: 'o1', userId: 'u1', items: [{ productId: 'widget', quantity: 2, unitPrice: 150 }] }))
        .toMatchObject({ status: 201, body: { id: 'o1', total: 300, status: 'pending' } });
      expect(await send('GET', '/inventory/widget')).toMatchObject({ status: 200, body: { stock: 3 } });
      expect(await send('POST', '/orders/claim')).toMatchObject({ status: 200, body: { id: 'o1', status: 'processing' } });

      expect(await send('POST', '/kv/transactions', { updates: [{ op: 'set', key: 'k', value: 'v1' }, { op: 'hincrby', key: 'h', field: 'n', by: 2 }] }))
        .toMatchObject({ status: 200, body: { applied: true, updates: 2 } });
      expect(await send('POST', '/kv/transactions', { conditions: [{ key: 'k', op: 'eq', value: 'v1' }], updates: [{ op: 'set', key: 'k', value: 'v2' }] }))
        .toMatchObject({ status: 200, body: { applied: true } });
      expect(await send('GET', '/kv/k')).toMatchObject({ status: 200, body: { value: 'v2' } });

      const ledger = await send('GET', '/events?stream=ledger');
      expect(ledger.body.events.map((e: { type: string }) => e.type)).toEqual(['account.opened', 'account.opened', 'transfer.completed']);
      const shop = await send('GET', '/events?stream=shop');
      expect(shop.body.events.map((e: { type: string }) => e.type)).toEqual(['stock.set', 'order.placed', 'order.claimed']);
      expect((await send('GET', '/events?stream=kv')).body.events).toHaveLength(2);

      expect(await send('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok', strategy } });
      // Everything was written under the service's prefix, by the runtime user.
      expect(await admin.exists(`ra:{acl-${strategy}}:acct:alice`)).toBe(1);
      // Nothing the service did was refused (a refused command could hide behind a retry or a fallback).
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
    });
  });

  it('a spread ledger (LEDGER_SPREAD) runs cross-shard transfers and its escrow sweeper as the runtime user — no ACL denial', async () => {
    const app = await createApp(env('functions', { REDIS_LOAD_FUNCTIONS: 'false', LEDGER: 'acl-spread', LEDGER_SPREAD: '4', PENDING_SWEEP_MS: '50' }),
      { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      await admin.call('ACL', 'LOG', 'RESET');
      const routing = new SpreadRouting('acl-spread', 4);
      let b = 'b0';
      for (let i = 1; routing.shardOf(b) === routing.shardOf('a'); i++) b = `b${i}`;
      const send = async (url: string, payload: object) => (await app.inject({ method: 'POST', url, payload })).statusCode;
      expect(await send('/accounts', { id: 'a', balance: 100 })).toBe(201);
      expect(await send('/accounts', { id: b })).toBe(201);
      expect(await send('/transfers', { from: 'a', to: b, amount: 30 })).toBe(201);
      expect(await send('/transfers', { from: 'a', to: b, amount: 300 })).toBe(422);
      await new Promise((resolve) => setTimeout(resolve, 300)); // a few sweeps of every bucket
      expect(await admin.call('ACL', 'LOG')).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('the runtime user gets NOPERM for FLUSHALL, FUNCTION FLUSH, FUNCTION LOAD, CONFIG GET and keys outside ra:*', async () => {
    await admin.set('otherapp:secret', 's3cret');
    const refused = async (call: () => Promise<unknown>) => call().then(() => 'allowed', (err: Error) => err.message);
    const results = {
      flushall: await refused(() => runtime.flushall()),
      flushdb: await refused(() => runtime.flushdb()),
      functionFlush: await refused(() => runtime.call('FUNCTION', 'FLUSH')),
      functionLoad: await refused(() => runtime.call('FUNCTION', 'LOAD', 'REPLACE', '#!lua name=evil\nredis.register_function("evil_x", function() return 1 end)')),
      configGet: await refused(() => runtime.call('CONFIG', 'GET', 'requirepass')),
      keys: await refused(() => runtime.keys('*')),
      foreignGet: await refused(() => runtime.get('otherapp:secret')),
      foreignSet: await refused(() => runtime.set('otherapp:secret', 'pwned')),
      foreignDel: await refused(() => runtime.del('otherapp:secret')),
      foreignThroughFunction: await refused(() => runtime.call('FCALL', 'kv_update_if_conditions_met', 1, 'otherapp:secret', '[]')),
    };
    for (const [name, message] of Object.entries(results)) expect({ name, message }).toEqual({ name, message: expect.stringMatching(/NOPERM/) });
    expect(await admin.get('otherapp:secret')).toBe('s3cret');
    expect((await admin.call('FUNCTION', 'LIST') as unknown[]).length).toBe(5);
    // Control: the same user may do what the service needs, on its own keys.
    expect(await runtime.set('ra:{probe}:x', '1')).toBe('OK');
    expect(await runtime.get('ra:{probe}:x')).toBe('1');
  });

  it('verify-only: functions lost on the server (FUNCTION FLUSH) → 503 STORE_UNAVAILABLE, nothing ran; back after the deploy command', async () => {
    const app = await createApp(env('functions', { REDIS_LOAD_FUNCTIONS: 'false', LEDGER: 'acl-lost' }), { logger: false });
    try {
      await app.init();
      const open = () => app.inject({ method: 'POST', url: '/accounts', payload: { id: 'carol', balance: 5 } });
      await admin.call('FUNCTION', 'FLUSH');
      const lost = await open();
      expect({ status: lost.statusCode, code: lost.json().code }).toEqual({ status: 503, code: 'STORE_UNAVAILABLE' });
      expect(await admin.exists('ra:{acl-lost}:acct:carol')).toBe(0);
      expect(await admin.call('FUNCTION', 'LIST')).toEqual([]); // the runtime user could not load them
      // The deploy command again (in-process: the same code the CLI process runs, tested above).
      expect(await functionsCommand(['load', '--url', server.url], { REDIS_USERNAME: 'ra-deploy', REDIS_PASSWORD: 'deploy-secret' }, quiet)).toBe(0);
      expect((await open()).statusCode).toBe(201);
    } finally {
      await app.close();
    }
  });

  it('a runtime user missing a command the transactions strategy needs gets 503 STORE_UNAVAILABLE naming NOPERM (not "connection dropped"), nothing written', async () => {
    await admin.call('ACL', 'SETUSER', 'ra-app-short', 'on', '>short', 'resetkeys', '~ra:*', '+@all', '-zmscore');
    const app = await createApp(env('transactions', { REDIS_USERNAME: 'ra-app-short', REDIS_PASSWORD: 'short', SHOP: 'acl-short' }), { logger: false });
    try {
      await app.init();
      expect((await app.inject({ method: 'PUT', url: '/inventory/widget', payload: { stock: 5 } })).statusCode).toBe(200);
      const res = await app.inject({ method: 'POST', url: '/orders', payload: { id: 'o9', userId: 'u9', items: [{ productId: 'widget', quantity: 1, unitPrice: 1 }] } });
      expect({ status: res.statusCode, code: res.json().code }).toEqual({ status: 503, code: 'STORE_UNAVAILABLE' });
      expect(res.json().message).toMatch(/NOPERM.*zmscore/);
      expect(await admin.exists('ra:{acl-short}:order:o9')).toBe(0);
      expect(await admin.zscore('ra:{acl-short}:inventory:stock', 'widget')).toBe('5');
    } finally {
      await app.close();
    }
  });
});
