/**
 * TLS: a private `redis-server --tls-port … --port 0` with a CA and a server certificate made here by openssl. The
 * service's modules connect with `rediss://` and REDIS_TLS_CA_FILE; without that CA (or with another one) they
 * refuse the server. The deploy command speaks TLS the same way.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAtomicError } from '@kernel/core';
import { connectRedis } from '@kernel/redis';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { functionsCommand } from '../../src/cli-functions';
import { PROCESS_LIMIT_MS, runCli } from '../support/cli';

jest.setTimeout(2 * PROCESS_LIMIT_MS);

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

/** A CA, and a server certificate it signs for localhost / 127.0.0.1; plus an unrelated CA. */
function makeCertificates(dir: string) {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=redis-atomic test CA');
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.crt', '-days', '2', '-subj', '/CN=another CA');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(dir, 'x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2',
    '-extfile', 'san.cnf');
  return { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), caFile: join(dir, 'ca.crt'), otherCa: join(dir, 'other-ca.crt') };
}

describe('TLS (rediss:// with a private CA)', () => {
  let dir: string;
  let files: ReturnType<typeof makeCertificates>;
  let server: RedisServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'redis-atomic-tls-'));
    files = makeCertificates(dir);
    server = await RedisServer.startTls(files);
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const startFails = (env: NodeJS.ProcessEnv) =>
    createApp(loadConfig(env), { logger: false }).then(async (app) => {
      await app.close();
      return new Error('started');
    }, (err: unknown) => err);

  it.each(['functions', 'transactions'])('the service (%s) connects with rediss:// and REDIS_TLS_CA_FILE, and works', async (strategy) => {
    expect(server.url).toMatch(/^rediss:\/\/localhost:\d+$/);
    const app = await createApp(loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server.url, REDIS_TLS_CA_FILE: files.caFile, LEDGER: `tls-${strategy}` }),
      { logger: false });
    try {
      await app.init();
      const send = async (method: 'GET' | 'POST', url: string, payload?: object) => {
        const res = await app.inject({ method, url, payload });
        return { status: res.statusCode, body: res.json() };
      };
      expect((await send('POST', '/accounts', { id: 'a', balance: 100 })).status).toBe(201);
      expect((await send('POST', '/accounts', { id: 'b' })).status).toBe(201);
      expect(await send('POST', '/transfers', { from: 'a', to: 'b', amount: 40 }))
        .toMatchObject({ status: 201, body: { from: { balance: 60 }, to: { balance: 40 } } });
      expect(await send('GET', '/health')).toMatchObject({ status: 200, body: { status: 'ok', store: 'redis' } });
    } finally {
      await app.close();
    }
    expect(await server.client().hget(`ra:{tls-${strategy}}:acct:b`, 'b')).toBe('40');
  });

  it('refuses the server without the CA, with another CA, and over plain TCP', async () => {
    const port = new URL(server.url).port;
    const withoutCa = await startFails({ ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url });
    const otherCa = await startFails({ ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url, REDIS_TLS_CA_FILE: files.otherCa });
    for (const failure of [withoutCa, otherCa]) {
      expect(isAtomicError(failure, 'STORE_UNAVAILABLE')).toBe(true);
      expect((failure as Error).message).toMatch(/certificate/);
    }
    // The server has no plain-text port: a redis:// client cannot talk to it.
    const plain = await connectRedis({ url: `redis://127.0.0.1:${port}`, commandTimeoutMs: 2000, redis: { retryStrategy: () => null, connectTimeout: 2000 } })
      .then((client) => client.ping().finally(() => client.disconnect()), (err: Error) => err);
    expect(plain).toBeInstanceOf(Error);
  });

  it('REDIS_TLS_CA_FILE must be readable, and contradicts REDIS_TLS=false', () => {
    expect(() => loadConfig({ REDIS_TLS_CA_FILE: join(dir, 'missing.pem') })).toThrow(/REDIS_TLS_CA_FILE cannot be read/);
    expect(() => loadConfig({ REDIS_TLS_CA_FILE: files.caFile, REDIS_TLS: 'false' })).toThrow(/REDIS_TLS=false/);
    expect(loadConfig({ REDIS_URL: 'redis://h:1', REDIS_TLS_CA_FILE: files.caFile }).redis.tls).toEqual({ ca: expect.any(Buffer) });
  });

  it('the deploy command speaks TLS too (rediss:// + REDIS_TLS_CA_FILE), and refuses an unknown CA with exit 3', async () => {
    let untrusted = '';
    const [verify, untrustedCode] = await Promise.all([
      // load, not verify: the service above loaded only the libraries its modules use (escrow only with LEDGER_SPREAD).
      runCli(['functions', 'load', '--url', server.url], { REDIS_TLS_CA_FILE: files.caFile }),
      // In-process (the same command the CLI process runs), to keep the suite fast.
      functionsCommand(['verify', '--url', server.url], { REDIS_TLS_CA_FILE: files.otherCa }, { out: () => undefined, err: (line) => (untrusted += line) }),
    ]);
    expect({ code: verify.code, stderr: verify.stderr }).toEqual({ code: 0, stderr: '' });
    expect(untrustedCode).toBe(3);
    expect(untrusted).toMatch(/certificate/);
  });
});
