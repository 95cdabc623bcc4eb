import { KeySpace } from '../../libs/redis-atomic/src';

/**
 * The Accounts key schema, all in one hash slot per ledger (the shard):
 *   <prefix>:{<ledger>}:acct:<id>   HASH   b = balance, m = floor
 *   <prefix>:{<ledger>}:hist:<id>   STREAM history entries (see lua/accounts.lua)
 */
export class AccountKeys {
  constructor(readonly space: KeySpace) {}

  account(id: string): string {
    return this.space.key('acct', id);
  }

  history(id: string): string {
    return this.space.key('hist', id);
  }
}
