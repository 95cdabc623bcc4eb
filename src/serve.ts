import { Logger } from '@nestjs/common';
import { isAtomicError } from '@kernel/core';
import { loadConfig } from './config';

/** Runs the HTTP service from the environment (see the README's configuration table) until SIGTERM/SIGINT. */
export async function serve(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const { createApp } = await import('./bootstrap').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && /platform-fastify/.test(String(err))) {
      throw new Error('the service runs on Fastify: npm install @nestjs/platform-fastify');
    }
    throw err;
  });
  const app = await createApp(config);
  await app.listen(config.port, '0.0.0.0');
  new Logger('Main').log(`listening on :${config.port} — strategy ${config.strategy}` +
    (config.strategy === 'memory' ? ' (in-process, nothing persisted)' : ` on ${config.redis.url}`));
}

/** One line on stderr and exit 1: a failed start needs no stack trace to be understood. */
export function failedToStart(err: unknown): never {
  const hint = isAtomicError(err, 'STORE_UNAVAILABLE')
    ? `${err.message}\n  → start Redis (e.g. \`redis-server\`) or set REDIS_URL, or run without Redis: ATOMIC_STRATEGY=memory`
    : err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`redis-atomic failed to start: ${hint}`);
  process.exit(1);
}
