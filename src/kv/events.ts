import type { CheckedTransaction } from './kv-rules';

/**
 * The `kv.transaction` event of an applied transaction (every adapter appends the same one; lua/kv.lua appends
 * this JSON as given): the updates in order — key, op and, when present, field, value, by, seconds.
 */
export function kvTransactionEvent(tx: CheckedTransaction): string {
  return JSON.stringify({
    updates: tx.updates.map(({ key, op, field, value, by, seconds }) => ({ key, op, field, value, by, seconds })),
  });
}
