import { loadConfig } from './config';
import { failedToStart, serve } from './serve';
import { runWorkers, workerCount } from './workers';

// `npm start` (the repository's service); the installed package runs the same through `redis-atomic serve`.
try {
  runWorkers(workerCount(loadConfig().workers), serve, failedToStart); // the config is checked once, before any fork
} catch (err) {
  failedToStart(err);
}
