import type { AccountsLedger } from './accounts.port';

/**
 * Releases expired pending transfers in the background (AccountsModule's `sweepIntervalMs`): every interval, up to
 * `rounds` calls of `sweepExpired(limit)` — another round only while a call found a full batch. Safe on every
 * instance at once: each expiry is its own atomic step that skips a transfer resolved meanwhile. Failures (Redis
 * down, a conflict) are left to the next tick. The timer does not keep the process alive; `stop` waits for the
 * round in flight.
 */
export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(private readonly ledger: Pick<AccountsLedger, 'sweepExpired'>, private readonly intervalMs: number,
    private readonly limit = 100, private readonly rounds = 10, private readonly onError: (err: unknown) => void = () => undefined) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async sweep(): Promise<void> {
    try {
      for (let round = 0; round < this.rounds; round++) {
        if ((await this.ledger.sweepExpired(this.limit)).expired.length < this.limit) return;
      }
    } catch (err) {
      this.onError(err);
    }
  }
}
