import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

/**
 * Health and function libraries: probes only look (a lost library is reported, and reloaded by the next call that
 * needs it); another build's version is reported, never overwritten.
 */
describe('GET /health and the loaded Lua libraries', () => {
  let server: RedisServer;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await createApp(loadConfig({ REDIS_URL: server.url }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const health = async () => {
    const res = await app.inject({ method: 'GET', url: '/health' });
    return { status: res.statusCode, body: res.json() };
  };

  it('lists every library at its version', async () => {
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.functions.map((f: { library: string }) => f.library).sort()).toEqual(['accounts', 'inventory', 'kv', 'orders']);
    for (const f of body.functions) expect(f.version).toBe(f.expected);
  });

  it('a lost library: 503 naming it, and the probe does not load it — the next call that needs it does', async () => {
    const admin = server.client();
    await admin.function('FLUSH');
    for (const url of ['/health', '/health/ready']) {
      const res = await app.inject({ method: 'GET', url });
      expect({ url, status: res.statusCode }).toEqual({ url, status: 503 });
    }
    const { body } = await health();
    expect(body.functions).toContainEqual(expect.objectContaining({ library: 'accounts', version: null }));
    const ready = (await app.inject({ method: 'GET', url: '/health/ready' })).json();
    expect(ready).toMatchObject({ statusCode: 503, code: 'NOT_READY', status: 'error', error: { functions: { status: 'down' } } });
    expect(ready.error.functions.libraries.accounts).toEqual({ version: null, expected: expect.any(String) });
    expect(await admin.call('FUNCTION', 'LIST')).toEqual([]); // probes only look

    // a request reloads what it needs (FunctionLibrary: "Function not found" → load → retry)
    for (const url of ['/accounts/nobody', '/inventory/nothing', '/orders/none', '/kv/nokey']) {
      expect((await app.inject({ method: 'GET', url })).statusCode).toBe(404);
    }
    const after = await health();
    expect(after.status).toBe(200);
    expect(after.body.functions.every((f: { version: string; expected: string }) => f.version === f.expected)).toBe(true);
    expect((await app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('/health/live answers 200; /health/ready lists Redis and every library as up', async () => {
    const live = await app.inject({ method: 'GET', url: '/health/live' });
    expect({ status: live.statusCode, body: live.json() }).toEqual({ status: 200, body: { status: 'ok', info: {}, error: {}, details: {} } });
    const ready = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    const body = ready.json();
    expect(body).toMatchObject({ status: 'ok', info: { shutdown: { status: 'up' }, redis: { status: 'up', strategy: 'functions' }, functions: { status: 'up' } } });
    expect(Object.keys(body.info.functions.libraries).sort()).toEqual(['accounts', 'inventory', 'kv', 'orders']);
  });

  it('reports another build\'s version as not ready and leaves it loaded (no overwrite from a probe)', async () => {
    const admin = server.client();
    const other = "#!lua name=accounts\nlocal LIBRARY_VERSION = 'other-build'\n" +
      "redis.register_function{ function_name = 'accounts_version', callback = function() return LIBRARY_VERSION end, flags = { 'no-writes' } }";
    await admin.call('FUNCTION', 'LOAD', 'REPLACE', other);
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.functions).toEqual(expect.arrayContaining([expect.objectContaining({ library: 'accounts', version: 'other-build' })]));
    expect(await admin.call('FCALL_RO', 'accounts_version', 0)).toBe('other-build');
  });
});
