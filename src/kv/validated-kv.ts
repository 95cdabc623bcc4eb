import { assertId } from '@kernel/core';
import type { ConditionalStore, KvEntry, KvReceipt, KvTransaction, WriteOptions } from './kv.port';
import { checkTransaction, checkWriteOptions } from './kv-rules';

/**
 * The one gate every conditional-store adapter sits behind (bound in KvModule): input that breaks a rule rejects
 * with VALIDATION_FAILED before any adapter — and so before Redis — sees it; adapters get the normalized
 * transaction (a CheckedTransaction: values as text, no unknown properties).
 */
export class ValidatedKv implements ConditionalStore {
  constructor(private readonly inner: ConditionalStore) {}

  async transaction(tx: KvTransaction, options?: WriteOptions): Promise<KvReceipt> {
    const checked = checkTransaction(tx);
    return this.inner.transaction(checked as KvTransaction, checkWriteOptions(options));
  }

  async get(key: string): Promise<KvEntry> {
    assertId(key, 'key');
    return this.inner.get(key);
  }
}
