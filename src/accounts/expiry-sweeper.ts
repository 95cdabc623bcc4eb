import { ShardDirectory, ShardSweeper } from '@kernel/core';
import type { AccountsLedger } from './accounts.port';

type Sweepable = Pick<AccountsLedger, 'sweepExpired'>;

/**
 * Releases expired pending transfers in the background (AccountsModule's `sweepIntervalMs`) on one ledger or on
 * every ledger a directory serves: every interval, per ledger up to `rounds` calls of `sweepExpired(limit)` —
 * another round only while a call found a full batch. Safe on every instance at once: each expiry is its own
 * atomic step that skips a transfer resolved meanwhile. Failures (Redis down, a conflict) are reported and left
 * to the next run. The timer does not keep the process alive; `stop` waits for the run in flight.
 */
export class ExpirySweeper {
  private readonly sweeper: ShardSweeper;

  constructor(target: Sweepable | ShardDirectory<Sweepable>, intervalMs: number, limit = 100, rounds = 10,
    onError: (err: unknown, ledger?: string) => void = () => undefined) {
    const ledgers = 'served' in target ? target : undefined;
    this.sweeper = new ShardSweeper({
      intervalMs, batch: limit, maxBatches: rounds,
      shards: () => ledgers?.served() ?? [''],
      sweep: async (ledger, batch) => (await (ledgers ? ledgers.shard(ledger) : target as Sweepable).sweepExpired(batch)).expired,
      onError: (err, ledger) => onError(err, ledgers ? ledger : undefined),
    });
  }

  start(): void {
    this.sweeper.start();
  }

  stop(): Promise<void> {
    return this.sweeper.stop();
  }
}
