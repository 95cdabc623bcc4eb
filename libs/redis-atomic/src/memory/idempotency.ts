import { AtomicError } from '../core/errors';
import { IdempotentCall, idempotencyMismatch, markReplayed } from '../core/idempotency';

/**
 * The same contract in process, for memory adapters: `run` is synchronous, so check, effect and record are
 * one step on Node's thread. Outcomes are stored as copies and replayed as new copies.
 */
export class MemoryIdempotency {
  private readonly records = new Map<string, { fingerprint: string; expires: number; value?: unknown; error?: AtomicError }>();
  private writes = 0;

  run<T>(call: IdempotentCall | undefined, effect: () => T): T {
    if (!call) return effect();
    const now = Date.now();
    const record = this.records.get(call.digest);
    if (record && record.expires > now) {
      if (record.fingerprint !== call.fingerprint) throw idempotencyMismatch();
      if (record.error) {
        const error = new AtomicError(record.error.code, record.error.message, record.error.details);
        error.replayed = true;
        throw error;
      }
      return markReplayed(structuredClone(record.value) as T);
    }
    if (++this.writes % 1024 === 0) this.sweep(now);
    const stored = { fingerprint: call.fingerprint, expires: now + call.ttlSeconds * 1000 };
    try {
      const value = effect();
      this.records.set(call.digest, { ...stored, value: structuredClone(value) });
      return value;
    } catch (err) {
      if (err instanceof AtomicError) this.records.set(call.digest, { ...stored, error: err }); // business failures replay too
      throw err;
    }
  }

  /** Expired records go, as Redis' TTL would remove them (amortized: every 1024 keyed writes). */
  private sweep(now: number): void {
    for (const [digest, record] of this.records) if (record.expires <= now) this.records.delete(digest);
  }
}
