import 'reflect-metadata';
import { createServer, connect, Server, Socket } from 'node:net';
import { Test, TestingModule } from '@nestjs/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import { REDIS_CLIENT, RedisAtomicModule, RedisAtomicOptions } from '@kernel/nest';
import { WatchRunner } from '@kernel/redis';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';
import { createApp } from '../../src/bootstrap';
import { AppConfig, loadConfig } from '../../src/config';

/**
 * Shared by the fault-injection suite (issue 4). Every suite starts its own private redis-server
 * (RedisServer from the kit); nothing here touches the Redis on 6379.
 */

export type RedisStrategy = 'functions' | 'transactions';

export interface WiredLedger {
  ledger: AccountsLedger;
  /** The module's shared ioredis client. */
  client: Redis;
  moduleRef: TestingModule;
  close(): Promise<void>;
}

/** The port wired like production (RedisAtomicModule + AccountsModule without HTTP), on any URL (e.g. a proxy). */
export async function wireLedger(url: string, strategy: RedisStrategy, options: Partial<RedisAtomicOptions> = {},
  ledger = 'main', historyLimit?: number): Promise<WiredLedger> {
  const moduleRef = await Test.createTestingModule({
    imports: [RedisAtomicModule.forRoot({ url, ...options }), AccountsModule.forRoot({ strategy, ledger, historyLimit, http: false })],
  }).compile();
  await moduleRef.init();
  return {
    moduleRef,
    ledger: moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER),
    client: moduleRef.get<Redis>(REDIS_CLIENT),
    close: async () => {
      moduleRef.get(WatchRunner).close();
      await moduleRef.close();
    },
  };
}

/**
 * The real HTTP app (createApp + loadConfig, as main.ts builds it), ready for `inject`. `redis` adds kernel
 * options the environment does not carry (e.g. `commandTimeoutMs`).
 */
export async function buildApp(env: Record<string, string>, redis: Partial<RedisAtomicOptions> = {}):
  Promise<NestFastifyApplication> {
  const config = loadConfig({ RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0', ...env }); // no background sweeps: tests count commands and kill connections
  const withRedis: AppConfig = { ...config, redis: { ...config.redis, ...redis } as AppConfig['redis'] };
  const app = await createApp(withRedis, { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

export interface HttpRes {
  status: number;
  body: any;
  replayed: boolean;
}

export async function send(app: NestFastifyApplication, method: 'GET' | 'POST', url: string, payload?: unknown,
  idempotencyKey?: string): Promise<HttpRes> {
  const res = await app.inject({
    method, url, payload: payload as object | undefined,
    headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
  });
  return { status: res.statusCode, body: res.body ? res.json() : undefined, replayed: res.headers['idempotent-replayed'] === 'true' };
}

/** Sum of `calls=` over INFO commandstats. Redis counts an INFO after it ran, so the next read sees it. */
export async function totalCalls(client: Redis): Promise<number> {
  const info = await client.info('commandstats');
  return [...info.matchAll(/:calls=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** `calls` of one command in INFO commandstats. */
export async function callsOf(client: Redis, command: string): Promise<number> {
  const info = await client.info('commandstats');
  const line = info.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
  return line ? Number(/calls=(\d+)/.exec(line)![1]) : 0;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition`; the bound only keeps a broken test from hanging. */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, boundMs = 5_000): Promise<void> {
  for (const started = Date.now(); ;) {
    if (await condition()) return;
    if (Date.now() - started > boundMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Strategy-independent view of an account in Redis: balance (or null) and its history entries, newest first. */
export async function accountInRedis(admin: Redis, ledger: string, id: string): Promise<{ balance: number | null; history: string[] }> {
  const balance = await admin.hget(`ra:{${ledger}}:acct:${id}`, 'b');
  return { balance: balance === null ? null : Number(balance), history: await admin.lrange(`ra:{${ledger}}:hist:${id}`, 0, -1) };
}

/**
 * A TCP proxy between a client and a redis-server that can lose one reply: once armed, the first client chunk
 * matching the trigger is forwarded to the server, and the server's reply to it is dropped while the client's
 * socket is reset (RST). The server has run the command; the client never hears about it.
 */
export class LostReplyProxy {
  /** Replies dropped (one per armed trigger that fired). */
  drops = 0;
  /** Client connections accepted (a reconnect is a new one). */
  connections = 0;
  private trigger?: RegExp;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, readonly port: number, private readonly target: number) {}

  static async start(target: number): Promise<LostReplyProxy> {
    let proxy!: LostReplyProxy;
    const server = createServer((client) => proxy.pipe(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new LostReplyProxy(server, (server.address() as { port: number }).port, target);
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The next client chunk matching `trigger` is forwarded, and its reply lost. One-shot. */
  arm(trigger: RegExp): void {
    this.trigger = trigger;
  }

  get armed(): boolean {
    return this.trigger !== undefined;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(client: Socket): void {
    this.connections++;
    const upstream = connect(this.target, '127.0.0.1');
    this.sockets.add(client).add(upstream);
    let dropping = false;
    client.on('data', (chunk) => {
      if (this.trigger?.test(chunk.toString('latin1'))) {
        this.trigger = undefined;
        dropping = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!dropping) {
        client.write(chunk);
        return;
      }
      if (!client.destroyed) {
        this.drops++;
        client.resetAndDestroy();
      }
      upstream.destroy();
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }
}
