import { KeySpace } from '../../libs/redis-atomic/src';

/**
 * The Accounts key schema, all in one hash slot per ledger (the shard):
 *   <prefix>:{<ledger>}:acct:<id>   HASH   b = balance, m = floor
 *   <prefix>:{<ledger>}:hist:<id>   LIST   history entries (see lua/accounts.lua)
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

  record(digest: string): string {
    return this.space.key('idem', digest);
  }
}
