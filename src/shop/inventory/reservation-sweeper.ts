import type { Inventory } from './inventory.port';
import { checkSweepLimit } from './inventory-rules';

/** InventoryModule's `reservationSweep` option: expire lapsed reservations in the background. */
export interface ReservationSweepOptions {
  /** Pause between two sweeps, ms (an integer >= 10). */
  intervalMs: number;
  /** Reservations per expireDue call (1..1000, default 100); a sweep goes on while full batches come back, at most 10 of them. */
  batch?: number;
}

const MAX_BATCHES_PER_SWEEP = 10;

/**
 * Runs `inventory.expireDue` every `intervalMs` — one sweep at a time (the next one is scheduled when the last
 * one ended), in bounded batches. Every instance of the service may run one: expireDue re-checks each reservation
 * atomically, so sweepers racing each other expire nothing twice. A failed sweep is reported and the next one
 * runs on schedule. `stop()` cancels the schedule and waits for a sweep in flight.
 */
export class ReservationSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;
  private readonly batch: number;

  constructor(private readonly inventory: Inventory, private readonly options: ReservationSweepOptions,
    private readonly onError: (err: unknown) => void) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 10) {
      throw new Error(`InventoryModule reservationSweep.intervalMs must be an integer >= 10 (got ${String(options.intervalMs)})`);
    }
    try {
      this.batch = checkSweepLimit(options.batch);
    } catch {
      throw new Error(`InventoryModule reservationSweep.batch must be an integer from 1 to 1000 (got ${String(options.batch)})`);
    }
  }

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

  /** One sweep now: expireDue until a batch comes back short (at most 10 batches). The ids it expired. */
  async sweep(): Promise<string[]> {
    const expired: string[] = [];
    for (let n = 0; n < MAX_BATCHES_PER_SWEEP && !(n > 0 && this.stopped); n++) {
      const batch = (await this.inventory.expireDue(this.batch)).expired;
      expired.push(...batch);
      if (batch.length < this.batch) break;
    }
    return expired;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep().then(() => undefined, this.onError).finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
