import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';

/**
 * `WORKERS=N` (or `auto` = the cores available): N Node processes share the listening port (node:cluster);
 * each builds its own app and its own Redis connections, so nothing is shared but the socket. The primary
 * only supervises: it forwards SIGTERM/SIGINT to every worker, waits for all of them to drain and exit,
 * and exits 0 (1 if a worker failed). A worker that dies unexpectedly takes the service down with a clear
 * line rather than being restarted in a loop: the orchestrator restarts the whole service.
 */
export const workerCount = (workers: number | 'auto'): number => (workers === 'auto' ? availableParallelism() : workers);

/** Runs `serve` in this process (one worker), or as the primary of `count` workers that each run it. */
export function runWorkers(count: number, serve: () => Promise<void>, onError: (err: unknown) => never): void {
  if (count === 1 || cluster.isWorker) {
    serve().catch(onError);
    return;
  }
  let stopping = false;
  let failed = false;
  for (let i = 0; i < count; i++) cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (code !== 0 && !(stopping && signal === 'SIGTERM')) failed = true; // a drained worker may end by the signal itself
    if (!stopping) {
      stopping = true;
      console.error(`redis-atomic: worker ${worker.process.pid} exited (${signal ?? code}); stopping the others`);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
    }
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
  });
  const stop = (signal: NodeJS.Signals) => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGTERM'));
}
