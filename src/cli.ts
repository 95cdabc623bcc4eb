#!/usr/bin/env node
import { failedToStart, serve } from './serve';

const USAGE = `usage: redis-atomic <command>

  serve     run the HTTP service (configured by environment variables: PORT, ATOMIC_STRATEGY, REDIS_URL, …)
  help      this text`;

const [command = 'help'] = process.argv.slice(2);
if (command === 'serve') {
  serve().catch(failedToStart);
} else {
  console.log(USAGE);
  process.exitCode = command === 'help' || command === '--help' || command === '-h' ? 0 : 2;
}
