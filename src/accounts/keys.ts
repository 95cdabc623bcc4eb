import { KeySpace } from '@kernel/core';

/**
 * The Accounts key schema, all in one hash slot per ledger (the shard):
 *   <prefix>:{<ledger>}:acct:<id>   HASH   b = balance, m = floor, dp / cp = pending debits / credits (absent = 0)
 *   <prefix>:{<ledger>}:pend:<id>   HASH   a pending transfer (lua/include/accounts-pending.lua)
 *   <prefix>:{<ledger>}:pend-deadlines:all  ZSET  open pending transfers by deadline (server ms)
 *   <prefix>:{<ledger>}:hist:<id>   LIST   history entries (see lua/accounts.lua)
 *   <prefix>:{<ledger>}:events      STREAM the ledger's event log (one per shard)
 *   <prefix>:{<ledger>}:idem:<hex>  STRING idempotency record (key digest → fingerprint + outcome), with a TTL
 */
export class AccountKeys {
  constructor(readonly space: KeySpace) {}

  account(id: string): string {
    return this.space.key('acct', id);
  }

  history(id: string): string {
    return this.space.key('hist', id);
  }

  /** The ledger's event log (STREAM, lua/accounts.lua): one per shard. */
  get events(): string {
    return this.space.events;
  }

  pending(transferId: string): string {
    return this.space.key('pend', transferId);
  }

  get deadlines(): string {
    return this.space.key('pend-deadlines', 'all');
  }

  record(digest: string): string {
    return this.space.key('idem', digest);
  }
}
