import { validationFailed } from './errors';

/** Every id that becomes part of a key: no `{}` (hash slot), `:` (namespace), `*`, spaces or newlines. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function assertId(value: unknown, field = 'id'): asserts value is string {
  if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
    throw validationFailed(`${field} must match ${ID_PATTERN.source}`, { field });
  }
}

/**
 * Builds the keys of one shard: `<prefix>:{<shard>}:<kind>:<id>`.
 *
 * The shard name is the Redis Cluster hash tag, so every key of a shard lives in one hash slot and any
 * operation across them (a transfer between two accounts of one ledger) is a single-slot FCALL/MULTI.
 * The shard is therefore the unit of atomicity *and* of scaling: one ledger is served by one master;
 * more ledgers spread over more masters. Operations across shards would need a protocol of their own.
 */
export class KeySpace {
  private readonly base: string;

  constructor(prefix: string, readonly shard: string) {
    assertId(prefix, 'key prefix');
    assertId(shard, 'shard');
    this.base = `${prefix}:{${shard}}:`;
  }

  key(kind: string, id: string): string {
    assertId(id, kind);
    return this.base + kind + ':' + id;
  }

  /** The shard's event log (a stream, see events.ts): one per shard, shared by every module writing to it. */
  get events(): string {
    return this.base + 'events';
  }

  /** Every key of the shard, for SCAN in tests and tools (`*` is safe here: prefix and shard are allowlisted). */
  get pattern(): string {
    return this.base + '*';
  }
}
