/**
 * The running service as a real process (compiled src/main.ts), its real output captured:
 * - logs: JSON lines by default — one per request with request id, route, status, latency and error code, every
 *   5xx with its cause, never a secret; LOG_FORMAT=pretty for people;
 * - graceful shutdown: SIGTERM under 32 concurrent clients with requests held in flight (CLIENT PAUSE WRITE on
 *   the private Redis) → readiness false, the listener closed, a request arriving while draining answered 503
 *   SHUTTING_DOWN, in-flight requests finished (not reset) and their writes applied, then exit 0.
 */
import { request as httpRequest } from 'node:http';
import { connect, Socket } from 'node:net';
import type Redis from 'ioredis';
import { freePort, RedisServer } from '@kernel/testing';
import { ServiceProcess } from '../support/service-process';

const LIMIT_MS = 90_000;

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: any }

/** One request on a fresh connection (no keep-alive); rejects with the socket error (ECONNREFUSED, ECONNRESET…). */
function call(port: number, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest({
      host: '127.0.0.1', port, method, path, agent: false,
      headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(text));
    }).on('error', reject).end();
  });
}

/** A raw HTTP/1.1 exchange on an already open connection: writes `raw`, resolves with everything read until it closes. */
function exchange(socket: Socket, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (text += chunk));
    socket.once('close', () => resolve(text));
    socket.once('error', reject);
    socket.write(raw);
  });
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function until(condition: () => Promise<boolean> | boolean, what: string, limitMs = 60_000): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 20) {
    if (waited > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('logs of the service process', () => {
  const secret = 'pa55-n3ver-logged';
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start(['--requirepass', secret]);
    admin = server.client({ password: secret });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('JSON: one line per request (id, route, status, latency, code), a 5xx with its cause, no secret', async () => {
    const service = ServiceProcess.start({ REDIS_URL: `redis://:${secret}@127.0.0.1:${server.port}`, PORT: String(await freePort()) });
    try {
      const port = await service.listening();
      expect((await call(port, 'POST', '/accounts', { id: 'alice', balance: 5 }, { 'x-request-id': 'my-req-1' })).status).toBe(201);
      const missing = await call(port, 'GET', '/accounts/bob');
      expect(missing.status).toBe(404);
      await admin.set('ra:{main}:acct:mallory', 'not a hash'); // a key our code never writes → 500 STORE_CORRUPTED
      expect((await call(port, 'GET', '/accounts/mallory')).body).toMatchObject({ statusCode: 500, code: 'STORE_CORRUPTED' });
      expect((await call(port, 'POST', '/transfers', { from: 'alice', to: 'alice', amount: 1 }, { authorization: `Bearer ${secret}` })).status).toBe(400);
      await until(() => service.records.filter((r) => r.requestId).length >= 4, 'four request lines');

      const lines = service.records.filter((r) => r.requestId);
      expect(lines.every((r) => r.status !== undefined)).toBe(true); // only the request lines: no second line for the 500
      expect(lines).toHaveLength(4);
      expect(lines[0]).toMatchObject({ requestId: 'my-req-1', method: 'POST', route: '/accounts', url: '/accounts', status: 201, level: 30 });
      expect(lines[0].durationMs).toEqual(expect.any(Number));
      expect(lines[1]).toMatchObject({ requestId: missing.headers['x-request-id'], route: '/accounts/:id', status: 404, code: 'ACCOUNT_NOT_FOUND', level: 40 });
      expect(lines[1].requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(lines[2]).toMatchObject({ route: '/accounts/:id', url: '/accounts/mallory', status: 500, code: 'STORE_CORRUPTED', level: 50 });
      expect(lines[2].err).toMatchObject({ type: 'AtomicError', message: 'account is not a hash' }); // the cause, as Lua reported it
      expect(lines[3]).toMatchObject({ route: '/transfers', status: 400, code: 'VALIDATION_FAILED' });
      expect(service.lines.every((line) => line.startsWith('{'))).toBe(true); // JSON only
    } finally {
      service.kill('SIGTERM');
    }
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.text).not.toContain(secret);
    expect(service.text).toContain(`redis://:***@127.0.0.1:${server.port}`);
  }, LIMIT_MS);

  it('LOG_FORMAT=pretty: readable lines, no JSON', async () => {
    const service = ServiceProcess.start({ ATOMIC_STRATEGY: 'memory', LOG_FORMAT: 'pretty', PORT: String(await freePort()) });
    try {
      const port = await service.listening();
      expect((await call(port, 'GET', '/accounts/nobody')).status).toBe(404);
      await service.waitFor(/GET \/accounts\/:id 404/);
    } finally {
      service.kill('SIGTERM');
    }
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.lines.filter((line) => line.startsWith('{'))).toEqual([]);
    expect(service.text).toMatch(/WARN.*GET \/accounts\/:id 404/);
  }, LIMIT_MS);
});

describe('graceful shutdown under 32 concurrent clients', () => {
  const CLIENTS = 32;
  let server: RedisServer;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisServer.start();
    admin = server.client();
  });
  afterAll(async () => {
    await admin?.call('CLIENT', 'UNPAUSE').catch(() => undefined);
    await server?.stop();
  });

  it('SIGTERM: in-flight requests finish, late ones get 503 SHUTTING_DOWN, nothing is reset, exit 0', async () => {
    const service = ServiceProcess.start({
      REDIS_URL: server.url, PORT: String(await freePort()), SHUTDOWN_GRACE_MS: '60000', REDIS_COMMAND_TIMEOUT_MS: '120000',
    });
    let paused = false;
    try {
      const port = await service.listening();
      expect((await call(port, 'POST', '/accounts', { id: 'pot' })).status).toBe(201);
      const idle = await Promise.all([openSocket(port), openSocket(port)]); // accepted before the signal, silent until draining

      // Writes are held by Redis: every deposit below stays in flight until UNPAUSE.
      await admin.call('CLIENT', 'PAUSE', '120000', 'WRITE');
      paused = true;
      const answers: Answer[] = [];
      const failures: string[] = [];
      let sent = 0;
      let afterSignal = 0;
      let signalled = false;
      const client = async () => {
        for (;;) {
          const request = call(port, 'POST', '/accounts/pot/deposit', { amount: 1 });
          sent++;
          try {
            const answer = await request;
            answers.push(answer);
            if (signalled && answer.status === 200) afterSignal++;
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== 'ECONNREFUSED') failures.push(`${code}: ${(err as Error).message}`); // refused = never accepted
            return;
          }
        }
      };
      const clients = Array.from({ length: CLIENTS }, client);
      // every client's deposit is in the service, held (the scrape counts itself); the first one waits in Redis
      await until(async () => {
        const text = await scrape(port);
        return Number(/^redis_atomic_http_requests_in_flight (\d+)/m.exec(text)?.[1]) >= CLIENTS + 1;
      }, 'every deposit to be in flight');
      expect(sent).toBe(CLIENTS);
      expect(await admin.info('clients')).toMatch(/blocked_clients:[1-9]/); // a paused client counts as blocked

      service.kill('SIGTERM');
      signalled = true;
      await service.waitFor(/SIGTERM: draining/);

      // requests arriving now, on connections accepted before: 503 SHUTTING_DOWN with a code, connection closed
      const late = await exchange(idle[0], 'POST /accounts/pot/deposit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"amount":1}');
      const ready = await exchange(idle[1], 'GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n');
      for (const raw of [late, ready]) {
        expect(raw).toMatch(/^HTTP\/1\.1 503 /);
        expect(raw.toLowerCase()).toContain('connection: close');
        expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toEqual({
          statusCode: 503, code: 'SHUTTING_DOWN', message: expect.any(String),
        });
      }
      expect(service.text).not.toMatch(/"msg":"stopped"/); // still draining: the held deposits are in flight

      await admin.call('CLIENT', 'UNPAUSE');
      paused = false;
      await Promise.all(clients);
      expect(await service.exited).toEqual({ code: 0, signal: null });

      expect(failures).toEqual([]); // no request was reset
      const ok = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status !== 200);
      for (const answer of refused) expect(answer.body).toMatchObject({ statusCode: 503, code: 'SHUTTING_DOWN' });
      expect(afterSignal).toBeGreaterThanOrEqual(1); // in flight at the signal, finished during the drain
      // every 200 was applied, and nothing else: the deposits answered SHUTTING_DOWN never ran
      expect(Number(await admin.hget('ra:{main}:acct:pot', 'b'))).toBe(ok.length);

      const records = service.records;
      const at = (msg: RegExp) => records.findIndex((r) => msg.test(String(r.msg)));
      expect(at(/^SIGTERM: draining/)).toBeGreaterThan(-1);
      expect(at(/^stopped$/)).toBe(records.length - 1); // Redis closed and the process exited after every request line
      expect(records.filter((r) => r.status === 503 && r.code === 'SHUTTING_DOWN').length).toBe(refused.length + 2);
    } finally {
      if (paused) await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      service.kill('SIGKILL');
    }
  }, LIMIT_MS * 2);
});
