import { ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import Redis, { RedisOptions } from 'ioredis';

/**
 * A private, throw-away `redis-server` for tests: its own free port, no persistence, stopped by `stop()`.
 * Tests never touch a shared Redis, and can inject faults (restart, pause, kill clients, OOM) freely.
 * The binary is `$REDIS_SERVER_BIN` or `redis-server` on PATH.
 */
export class RedisServer {
  private process?: ChildProcess;
  private readonly clients = new Set<Redis>();

  private constructor(readonly port: number, private readonly extraArgs: string[]) {}

  /** `extraArgs` may depend on the port chosen (e.g. a cluster node's `--cluster-config-file nodes-<port>.conf`). */
  static async start(extraArgs: string[] | ((port: number) => string[]) = []): Promise<RedisServer> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const server = new RedisServer(port, typeof extraArgs === 'function' ? extraArgs(port) : extraArgs);
      try {
        await server.spawn();
        return server;
      } catch (err) {
        if (attempt >= 5) throw err; // the port was taken between probe and bind: pick another
      }
    }
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A client to this server, closed by `stop()`. */
  client(options: RedisOptions = {}): Redis {
    const client = new Redis({ host: '127.0.0.1', port: this.port, lazyConnect: false, ...options });
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
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
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
      if (await ping(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`redis-server on port ${this.port} did not become ready`);
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk;
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
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
