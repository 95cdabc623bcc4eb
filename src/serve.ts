import type { Server } from 'node:http';
import { Logger } from '@nestjs/common';
import { isAtomicError } from '@kernel/core';
import { ConfigError, loadConfig, redactUrl } from './config';

/**
 * Runs the HTTP service from the environment (see the README's configuration table). On SIGTERM/SIGINT it
 * drains (Drain: readiness false, no new connections, in-flight requests finish within SHUTDOWN_GRACE_MS,
 * late arrivals get 503 SHUTTING_DOWN), then closes the app and its Redis connection, and exits 0.
 */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  assertServicePackages();
  const { createApp } = await import('./bootstrap');
  const { Drain } = await import('./health/drain');
  const app = await createApp(config);
  const logger = new Logger('Main');

  // Handlers first: a signal that arrives as (or before) "listening" is printed is a graceful stop, never Node's
  // default action (killed by the signal).
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return logger.warn(`${signal} again: already shutting down`);
    stopping = true;
    logger.log(`${signal}: draining (in-flight requests get up to ${config.shutdownGraceMs} ms)`);
    try {
      const { cut } = await app.get(Drain).drain(app.getHttpServer() as Server, config.shutdownGraceMs);
      if (cut) logger.warn(`requests still running after ${config.shutdownGraceMs} ms were cut off`);
      await app.close(); // then Redis (RedisAtomicModule's shutdown hook)
      logger.log('stopped');
      process.exit(0);
    } catch (err) {
      logger.error(`shutdown failed: ${(err as Error).stack ?? String(err)}`);
      process.exit(1);
    }
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, (s: NodeJS.Signals) => void stop(s));

  await app.init();
  try {
    // Fastify's own listen: it rejects once, without Nest's extra error log (a failed start is reported once, by main).
    await app.getHttpAdapter().getInstance().listen({ port: config.port, host: '0.0.0.0' });
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError('PORT', `PORT ${config.port} is already in use by another process: stop it or choose another PORT`);
    }
    throw err;
  }
  if (stopping) return; // a signal during the start: the drain above closes what was just opened
  logger.log(`listening on :${config.port} — strategy ${config.strategy}` +
    (config.strategy === 'memory' ? ' (in-process, nothing persisted)'
      : config.redis.cluster ? ` on the Redis Cluster of ${config.redis.cluster.nodes.join(', ')}` : ` on ${redactUrl(config.redis.url)}`));
}

/**
 * The service's own packages (optional peers of the library: apps that only import the modules never need them).
 * Checked before anything loads them, so `npx redis-atomic serve` without them is one line naming all of them.
 */
const SERVICE_PACKAGES = ['@nestjs/platform-fastify', '@nestjs/terminus', 'nestjs-pino', 'pino', 'pino-http', 'prom-client'];

function assertServicePackages(): void {
  const missing = SERVICE_PACKAGES.filter((name) => {
    try {
      require.resolve(`${name}/package.json`);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length) throw new Error(`the service needs: npm install ${missing.join(' ')}`);
}

/** One line on stderr and exit 1: a failed start needs no stack trace to be understood. */
export function failedToStart(err: unknown): never {
  let hint: string;
  if (err instanceof ConfigError) {
    hint = err.message;
  } else if (isAtomicError(err, 'STORE_UNAVAILABLE') && err.details.reason === 'auth') {
    hint = `${err.message} → check REDIS_USERNAME / REDIS_PASSWORD (or the user:password in REDIS_URL)`;
  } else if (isAtomicError(err, 'STORE_UNAVAILABLE')) {
    hint = `${err.message} → start Redis (e.g. \`redis-server\`) or set REDIS_URL, or run without Redis: ATOMIC_STRATEGY=memory`;
  } else {
    hint = err instanceof Error ? (err.stack ?? err.message) : String(err);
  }
  console.error(`redis-atomic failed to start: ${hint}`);
  process.exit(1);
}
