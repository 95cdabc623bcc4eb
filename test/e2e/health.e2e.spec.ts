import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

/** Health and function libraries: a lost library is reloaded; another build's version is reported, never overwritten. */
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

  it('reloads a library the server lost', async () => {
    await server.client().function('FLUSH');
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.functions.every((f: { version: string; expected: string }) => f.version === f.expected)).toBe(true);
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
