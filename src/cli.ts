#!/usr/bin/env node
import { loadConfig } from './config';
import { failedToStart, serve } from './serve';
import { runWorkers, workerCount } from './workers';

const USAGE = `usage: redis-atomic <command>

  serve     run the HTTP service (configured by environment variables: PORT, ATOMIC_STRATEGY, REDIS_URL, WORKERS, …)
  help      this text`;

const [command = 'help'] = process.argv.slice(2);
if (command === 'serve') {
  try {
    runWorkers(workerCount(loadConfig().workers), serve, failedToStart); // the config is checked once, before any fork
  } catch (err) {
    failedToStart(err);
  }
} else {
  console.log(USAGE);
  process.exitCode = command === 'help' || command === '--help' || command === '-h' ? 0 : 2;
}
