/**
 * Bad input a new user finds: JSON nested 1,313 levels deep, and invalid UTF-8 inside a JSON string. Both are refused
 * with 400 VALIDATION_FAILED on every route family, with no command sent to Redis (functions strategy on a private
 * redis-server), over Fastify's inject and over a real socket.
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const ROUTES: [string, string][] = [
  ['POST', '/accounts'], ['POST', '/accounts/alice/deposit'], ['POST', '/accounts/alice/withdraw'], ['POST', '/transfers'],
  ['POST', '/transfers/batch'], ['PUT', '/inventory/widget'], ['POST', '/inventory/widget/restock'], ['POST', '/orders'],
  ['POST', '/kv/transactions'],
];

const DEPTH = 1313;
const deepObject = `{"id":${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}}`;
const deepArray = `${'['.repeat(DEPTH)}1${']'.repeat(DEPTH)}`;
const deepInField = `{"updates":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;

async function commandCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** A JSON body with raw bytes spliced in (not valid UTF-8): `before` + bytes + `after`. */
const withBytes = (before: string, bytes: number[], after: string) => Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);

describe('request bodies: deep nesting and invalid UTF-8', () => {
  let server: RedisServer;
  let client: Redis;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    server = await RedisServer.start();
    client = server.client();
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  const send = async (method: string, url: string, payload: string | Buffer) => {
    const res = await app.inject({ method: method as 'POST', url, payload, headers: { 'content-type': 'application/json' } });
    return { status: res.statusCode, body: res.json() };
  };

  it.each(ROUTES)('%s %s: JSON nested 1,313 levels deep → 400 VALIDATION_FAILED, nothing sent to Redis', async (method, url) => {
    const before = await commandCalls(client);
    for (const payload of [deepObject, deepArray, deepInField]) {
      expect(await send(method, url, payload)).toEqual({ status: 400, body: expect.objectContaining({ statusCode: 400, code: 'VALIDATION_FAILED' }) });
    }
    expect(await commandCalls(client) - before).toBe(1); // only the first INFO
  });

  it.each(ROUTES)('%s %s: invalid UTF-8 in a JSON string → 400 VALIDATION_FAILED, nothing sent to Redis', async (method, url) => {
    const before = await commandCalls(client);
    for (const bytes of [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]) { // stray, truncated, surrogate, overlong
      expect(await send(method, url, withBytes('{"id":"al', bytes, 'ice","amount":1}')))
        .toEqual({ status: 400, body: { statusCode: 400, code: 'VALIDATION_FAILED', message: 'request body is not valid UTF-8', errors: expect.any(Array) } });
    }
    expect(await commandCalls(client) - before).toBe(1);
  });

  it('a kv value with raw invalid bytes is refused, not stored with U+FFFD; valid multi-byte UTF-8 is stored exactly', async () => {
    const bad = withBytes('{"updates":[{"op":"set","key":"greeting","value":"caf', [0xe9], '"}]}'); // Latin-1 é
    expect(await send('POST', '/kv/transactions', bad)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await client.exists('ra:{kv}:kv:greeting')).toBe(0);
    const good = Buffer.from('{"updates":[{"op":"set","key":"greeting","value":"café ✓ 𝄞"}]}', 'utf8');
    expect(await send('POST', '/kv/transactions', good)).toMatchObject({ status: 200, body: { applied: true } });
    expect(await send('GET', '/kv/greeting', '')).toMatchObject({ status: 200, body: { value: 'café ✓ 𝄞' } });
    expect(await client.get('ra:{kv}:kv:greeting')).toBe('café ✓ 𝄞');
  });

  it('the same over a real socket (raw bytes on the wire)', async () => {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const post = (body: Buffer) => new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/kv/transactions',
        headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.once('error', reject);
      req.end(body);
    });
    expect(await post(withBytes('{"updates":[{"op":"set","key":"wire","value":"x', [0xff, 0xfe], '"}]}')))
      .toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED', message: 'request body is not valid UTF-8' } });
    expect(await client.exists('ra:{kv}:kv:wire')).toBe(0);
    expect(await post(Buffer.from(deepInField))).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    expect(await post(Buffer.from('{"updates":[{"op":"set","key":"wire","value":"ok"}]}'))).toMatchObject({ status: 200 });
  });
});

describe('rate limit (RATE_LIMIT_MAX)', () => {
  const start = async (env: NodeJS.ProcessEnv) => {
    const app = await createApp(loadConfig({ ATOMIC_STRATEGY: 'memory', ...env }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    return app;
  };

  it('is off by default: no limit headers, never 429', async () => {
    const app = await start({});
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 30; i++) {
        const res = await app.inject({ method: 'GET', url: '/accounts/nobody' });
        statuses.add(res.statusCode);
        expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      }
      expect([...statuses]).toEqual([404]);
    } finally {
      await app.close();
    }
  });

  it('when on: per client across routes, then 429 RATE_LIMITED with Retry-After and a code; /health exempt; other clients unaffected', async () => {
    const app = await start({ RATE_LIMIT_MAX: '3', RATE_LIMIT_WINDOW_SECONDS: '3600' });
    const from = (remoteAddress: string, method: 'GET' | 'POST', url: string, payload?: object) =>
      app.inject({ method, url, payload, remoteAddress });
    try {
      const first = await from('10.0.0.1', 'POST', '/accounts', { id: 'a', balance: 5 });
      expect(first.statusCode).toBe(201);
      expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2' });
      expect((await from('10.0.0.1', 'GET', '/accounts/a')).statusCode).toBe(200);
      expect((await from('10.0.0.1', 'POST', '/kv/transactions', { updates: [{ op: 'set', key: 'k', value: 'v' }] })).statusCode).toBe(200);
      const limited = await from('10.0.0.1', 'GET', '/accounts/a');
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toEqual({ statusCode: 429, code: 'RATE_LIMITED', message: expect.stringMatching(/rate limit exceeded/) });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(3600);
      // A rejected write did not happen.
      expect((await from('10.0.0.1', 'POST', '/accounts', { id: 'b' })).statusCode).toBe(429);
      expect((await from('10.0.0.2', 'GET', '/accounts/b')).json()).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
      expect((await from('10.0.0.1', 'GET', '/health')).statusCode).toBe(200);
      expect((await from('10.0.0.2', 'GET', '/accounts/a')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('rejects a malformed RATE_LIMIT_MAX', () => {
    expect(() => loadConfig({ RATE_LIMIT_MAX: 'lots' })).toThrow(/RATE_LIMIT_MAX must be a whole number >= 0/);
    expect(loadConfig({ RATE_LIMIT_MAX: '0' }).rateLimit).toBeUndefined();
  });
});
