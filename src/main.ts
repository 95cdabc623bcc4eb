import { Logger } from '@nestjs/common';
import { isAtomicError } from '../libs/redis-atomic/src';
import { createApp } from './bootstrap';
import { loadConfig } from './config';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApp(config);
  await app.listen(config.port, '0.0.0.0');
  new Logger('Main').log(`listening on :${config.port} — strategy ${config.strategy}` +
    (config.strategy === 'memory' ? ' (in-process, nothing persisted)' : ` on ${config.redis.url}`));
}

main().catch((err: unknown) => {
  const hint = isAtomicError(err, 'STORE_UNAVAILABLE')
    ? `${err.message}\n  → start Redis (e.g. \`redis-server\`) or set REDIS_URL, or run without Redis: ATOMIC_STRATEGY=memory npm start`
    : err instanceof Error ? (err.stack ?? err.message) : String(err);
  console.error(`redis-atomic failed to start: ${hint}`);
  process.exit(1);
});
