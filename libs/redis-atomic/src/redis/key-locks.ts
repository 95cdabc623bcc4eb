/**
 * In-process FIFO locks over sets of keys. Taking all of an operation's keys in one synchronous step gives
 * every waiter a place in one global order, so waits never form a cycle (no deadlock, no lock ordering).
 *
 * WatchRunner uses it so that transactions of one process on the same hot key queue up instead of
 * invalidating each other's WATCH; WATCH still guards against other processes.
 */
export class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(keys: readonly string[]): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const unique = [...new Set(keys)];
    const previous: Promise<void>[] = [];
    for (const key of unique) {
      const tail = this.tails.get(key);
      if (tail) previous.push(tail);
      this.tails.set(key, held);
    }
    void held.then(() => {
      for (const key of unique) if (this.tails.get(key) === held) this.tails.delete(key);
    });
    await Promise.all(previous);
    return release;
  }

  /** Keys with a holder or waiters (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
