import { failedToStart, serve } from './serve';
import { runWorkers, workerCount } from './workers';

// `npm start` (the repository's service); the installed package runs the same through `redis-atomic serve`.
try {
  runWorkers(workerCount(process.env.WORKERS), serve, failedToStart);
} catch (err) {
  failedToStart(err);
}
