import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, createServer, Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import Redis, { RedisOptions } from 'ioredis';

/**
 * A private, throw-away `redis-server` for tests: its own free port, no persistence, stopped by `stop()`.
 * Tests never touch a shared Redis, and can inject faults (restart, pause, kill clients, OOM) freely.
 * The binary is `$REDIS_SERVER_BIN` or `redis-server` on PATH.
 */
export class RedisServer {
  private process?: ChildProcess;
  private readonly clients = new Set<Redis>();

  private constructor(readonly port: number, private readonly extraArgs: string[], readonly tls?: RedisServerTls) {}

  /** `extraArgs` may depend on the port chosen (e.g. a cluster node's `--cluster-config-file nodes-<port>.conf`). */
  static async start(extraArgs: string[] | ((port: number) => string[]) = [], tls?: RedisServerTls): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = new RedisServer(port, typeof extraArgs === 'function' ? extraArgs(port) : extraArgs, tls);
      try {
        await server.spawn();
        return server;
      } catch (err) {
        if (attempt >= 5) throw err; // the port was taken between probe and bind: pick another
      }
    }
  }

  /**
   * A server that speaks only TLS (`--port 0 --tls-port <port>`), with the given server certificate; clients are not
   * asked for certificates. `url` is then `rediss://localhost:<port>` (the certificate must name localhost).
   */
  static startTls(tls: RedisServerTls, extraArgs: string[] = []): Promise<RedisServer> {
    return RedisServer.start(extraArgs, tls);
  }

  get url(): string {
    return this.tls ? `rediss://localhost:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /** A client to this server, closed by `stop()`. */
  client(options: RedisOptions = {}): Redis {
    const tls = this.tls ? { tls: { ca: readFileSync(this.tls.caFile), servername: 'localhost' } } : {};
    const client = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: false, ...tls, ...options });
    client.on('error', () => undefined); // faults are injected on purpose; callers see rejected commands
    this.clients.add(client);
    client.once('end', () => this.clients.delete(client));
    return client;
  }

  /** Stops the server without saving (its data and functions are gone) and starts it again on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  /** The process id while the server runs (signals go to this PID only). */
  get pid(): number | undefined {
    return this.process?.exitCode === null ? this.process.pid : undefined;
  }

  /** Stops the server without saving. Commands fail until `restart()`. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }

  async stop(): Promise<void> {
    for (const client of this.clients) if (client.status !== 'end') client.disconnect();
    this.clients.clear();
    await this.kill();
  }

  private async spawn(): Promise<void> {
    const listen = this.tls
      ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', this.tls.certFile, '--tls-key-file', this.tls.keyFile,
        '--tls-ca-cert-file', this.tls.caFile, '--tls-auth-clients', 'no']
      : ['--port', String(this.port)];
    const args = [...listen, '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--daemonize', 'no', '--loglevel', 'warning', ...this.extraArgs];
    const child = spawn(process.env.REDIS_SERVER_BIN ?? 'redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.process = child;
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk));
    const failed = new Promise<never>((_, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${stderr.trim()}`)));
    });
    failed.catch(() => undefined);
    await Promise.race([failed, this.waitUntilReady()]);
  }

  /** Polls with a raw PING (no ioredis client: its reconnect and disconnect timers would outlive the test). */
  private async waitUntilReady(): Promise<void> {
    for (let waited = 0; waited < 10_000; waited += 20) {
      if (await ping(this.port, !!this.tls)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`redis-server on port ${this.port} did not become ready`);
  }
}

/** PEM files of a TLS server (RedisServer.startTls). */
export interface RedisServerTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed certFile (also what `client()` trusts). */
  caFile: string;
}

function ping(port: number, tls = false): Promise<boolean> {
  return new Promise((resolve) => {
    // Readiness only: the certificate is checked by the clients under test, not by this probe.
    const socket: Socket = tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1');
    const connectEvent = tls ? 'secureConnect' : 'connect';
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once(connectEvent, () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      // a server started with --requirepass answers NOAUTH: it is up all the same
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** A TCP port nothing listens on right now (probed, then closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
