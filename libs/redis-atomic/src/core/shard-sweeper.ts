export interface ShardSweeperOptions {
  /** Pause between the end of one run and the start of the next, ms. */
  intervalMs: number;
  /** Items per call of `sweep`. */
  batch: number;
  /** Calls per shard and run: another one only while the last came back full. */
  maxBatches: number;
  /** The shards to visit on each run (read afresh every run: shards served since the last run are included). */
  shards: () => Iterable<string>;
  /** One bounded, atomic step on one shard (expire up to `limit` due items); resolves to what it did. */
  sweep: (shard: string, limit: number) => Promise<readonly string[]>;
  /** A failed step: reported, the other shards are still visited, the next run retries. */
  onError: (err: unknown, shard: string) => void;
}

/**
 * Background expiry over every shard of a module instance (pending transfers, stock reservations): one run at a
 * time, shard after shard, in bounded batches. Safe on every instance at once — each step re-checks atomically,
 * so racing sweepers expire nothing twice. The timer does not keep the process alive; `stop` waits for the run
 * in flight.
 */
export class ShardSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = true;

  constructor(private readonly options: ShardSweeperOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One run now over every shard; what it expired. */
  async run(): Promise<string[]> {
    const { batch, maxBatches, sweep, onError } = this.options;
    const done: string[] = [];
    for (const shard of this.options.shards()) {
      try {
        for (let n = 0; n < maxBatches; n++) {
          const swept = await sweep(shard, batch);
          done.push(...swept);
          if (swept.length < batch || this.stopped) break;
        }
      } catch (err) {
        onError(err, shard);
      }
      if (this.stopped) break;
    }
    return done;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
