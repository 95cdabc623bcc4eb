import { AtomicError } from './errors';
import { isReplayed } from './idempotency';

/**
 * What the kernel reports as it works, for metrics (see nest/metrics.ts for the Prometheus implementation).
 * Opt-in: nothing is observed unless an observer is provided under ATOMIC_OBSERVER (AtomicMetricsModule does).
 */
export interface AtomicObserver {
  /** One call of a port method, measured at the port (validation included), whatever its outcome. */
  operation(event: OperationEvent): void;
  /** A WATCH transaction: each attempt, each EXEC aborted by a changed key, each run that gave up (CONFLICT). */
  watch(event: 'attempt' | 'conflict' | 'exhausted'): void;
  /** A Lua library loaded at start (`load`) or again after the server lost it (`reload`). */
  library(event: { library: string; reason: 'load' | 'reload'; ok: boolean }): void;
}

export interface OperationEvent {
  /** `accounts`, `inventory`, `orders`, `kv`, `events` … */
  module: string;
  /** The named instance, or `default`. */
  instance: string;
  operation: string;
  strategy: string;
  /** `ok`, the AtomicError's code (business codes, OUTCOME_UNKNOWN, STORE_UNAVAILABLE…), or `error` (not ours: a bug). */
  outcome: string;
  seconds: number;
  /** The outcome is the replay of one stored under an idempotency key. */
  replayed: boolean;
}

export const ATOMIC_OBSERVER = Symbol('REDIS_ATOMIC_OBSERVER');

export interface PortLabels {
  module: string;
  instance: string;
  strategy: string;
}

/**
 * The port with every method measured: one generic wrapper (a Proxy) for any port object, so each module gets
 * metrics without code of its own. Methods keep their `this` (the real port); other properties pass through.
 */
export function observePort<T extends object>(port: T, labels: PortLabels, observer: AtomicObserver): T {
  const wrapped = new Map<string, unknown>();
  return new Proxy(port, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || typeof value !== 'function' || property === 'constructor') return value;
      let method = wrapped.get(property);
      if (!method) {
        method = measured(target, property, value as (...args: unknown[]) => unknown, labels, observer);
        wrapped.set(property, method);
      }
      return method;
    },
  });
}

function measured(target: object, operation: string, fn: (...args: unknown[]) => unknown, labels: PortLabels, observer: AtomicObserver) {
  return (...args: unknown[]): unknown => {
    const started = process.hrtime.bigint();
    const report = (outcome: string, replayed: boolean) => {
      try {
        observer.operation({ ...labels, operation, outcome, replayed, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
      } catch {
        /* metrics never break an operation */
      }
    };
    const failed = (err: unknown) => report(err instanceof AtomicError ? err.code : 'error', err instanceof AtomicError && err.replayed);
    let result: unknown;
    try {
      result = fn.apply(target, args);
    } catch (err) {
      failed(err);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then((value) => {
        report('ok', isReplayed(value));
        return value;
      }, (err: unknown) => {
        failed(err);
        throw err;
      });
    }
    report('ok', isReplayed(result));
    return result;
  };
}
