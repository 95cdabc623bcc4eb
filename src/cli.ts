#!/usr/bin/env node
import { loadConfig } from './config';
import { failedToStart, serve } from './serve';
import { runWorkers, workerCount } from './workers';

const USAGE = `usage: redis-atomic <command>

  serve                                 run the HTTP service (configured by environment variables: PORT,
                                        ATOMIC_STRATEGY, REDIS_URL, REDIS_LOAD_FUNCTIONS, WORKERS, …)
  functions load|verify|list [--dry-run] [--url redis://…]
                                        deploy / check the Lua libraries (\`redis-atomic functions --help\`)
  audit [--ledger NAME] [--json]        recompute a ledger's balances from its event stream and compare them with
                                        the stored ones (\`redis-atomic audit --help\`)
  help                                  this text`;

const [command = 'help', ...rest] = process.argv.slice(2);
if (command === 'serve') {
  try {
    runWorkers(workerCount(loadConfig().workers), serve, failedToStart); // the config is checked once, before any fork
  } catch (err) {
    failedToStart(err);
  }
} else if (command === 'functions') {
  // Loaded only here: deploying functions needs neither Nest nor the HTTP stack.
  import('./cli-functions')
    .then(({ functionsCommand }) => functionsCommand(rest))
    .then((code) => (process.exitCode = code), (err: unknown) => {
      console.error(`redis-atomic functions: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 1;
    });
} else if (command === 'audit') {
  import('./cli-audit')
    .then(({ auditCommand }) => auditCommand(rest))
    .then((code) => (process.exitCode = code), (err: unknown) => {
      console.error(`redis-atomic audit: ${err instanceof Error ? err.message : String(err)}`);
      process.exitCode = 4;
    });
} else {
  console.log(USAGE);
  process.exitCode = command === 'help' || command === '--help' || command === '-h' ? 0 : 2;
}
