import { ShardDirectory, ShardSweeper } from '@kernel/core';
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
 * Runs `inventory.expireDue` every `intervalMs` on one inventory or on every shop a directory serves — one sweep
 * at a time (the next one is scheduled when the last one ended), in bounded batches. Every instance of the service
 * may run one: expireDue re-checks each reservation atomically, so sweepers racing each other expire nothing
 * twice. A failed sweep is reported and the next one runs on schedule. `stop()` waits for a sweep in flight.
 */
export class ReservationSweeper {
  private readonly sweeper: ShardSweeper;

  constructor(target: Inventory | ShardDirectory<Inventory>, options: ReservationSweepOptions, onError: (err: unknown, shop?: string) => void) {
    if (!Number.isSafeInteger(options.intervalMs) || options.intervalMs < 10) {
      throw new Error(`InventoryModule reservationSweep.intervalMs must be an integer >= 10 (got ${String(options.intervalMs)})`);
    }
    let batch: number;
    try {
      batch = checkSweepLimit(options.batch);
    } catch {
      throw new Error(`InventoryModule reservationSweep.batch must be an integer from 1 to 1000 (got ${String(options.batch)})`);
    }
    const shops = 'served' in target ? target : undefined;
    this.sweeper = new ShardSweeper({
      intervalMs: options.intervalMs, batch, maxBatches: MAX_BATCHES_PER_SWEEP,
      shards: () => shops?.served() ?? [''],
      sweep: async (shop, limit) => (await (shops ? shops.shard(shop) : target as Inventory).expireDue(limit)).expired,
      onError: (err, shop) => onError(err, shops ? shop : undefined),
    });
  }

  start(): void {
    this.sweeper.start();
  }

  stop(): Promise<void> {
    return this.sweeper.stop();
  }

  /** One sweep now: expireDue until a batch comes back short (at most 10 batches per shop). The ids it expired. */
  sweep(): Promise<string[]> {
    return this.sweeper.run();
  }
}
