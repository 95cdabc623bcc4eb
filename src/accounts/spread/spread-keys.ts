import { keySlot } from '@kernel/core';
import { AccountKeys } from '../keys';

/**
 * Where a spread ledger keeps things. A ledger `L` with `spread: N` has N shards, each an ordinary ledger (the
 * accounts.lua key schema) whose hash tag is `<L>-x<k>` (k = 0..N-1; ids are [A-Za-z0-9_-], so no other separator). Account
 * `id` lives on shard CRC16(id) mod N; transaction `txid`'s record lives in bucket CRC16(txid) mod N, i.e. on that
 * shard too (lua/escrow.lua's Tx and Due keys). So the N tags' slots — spread by CRC16 over the masters — carry
 * the ledger's load.
 */
export const MAX_SPREAD = 64;

export class SpreadRouting {
  readonly tags: string[];

  constructor(readonly ledger: string, readonly spread: number) {
    if (!(Number.isInteger(spread) && spread >= 1 && spread <= MAX_SPREAD)) throw new Error(`spread must be 1..${MAX_SPREAD}`);
    this.tags = Array.from({ length: spread }, (_, k) => `${ledger}-x${k}`);
    if (this.tags.some((tag) => tag.length > 64)) throw new Error(`ledger ${ledger} is too long to spread: its shard tags pass 64 characters`);
  }

  shardOf(accountId: string): number {
    return keySlot(accountId) % this.spread;
  }

  bucketOf(txid: string): number {
    return keySlot(txid) % this.spread;
  }
}

/** lua/escrow.lua's keys of one shard: the shard's ledger keys (accounts, histories, events) and the escrow's own. */
export class EscrowKeys extends AccountKeys {
  get holds(): string {
    return `${this.space.pattern.slice(0, -1)}xholds`;
  }

  done(txid: string): string {
    return this.space.key('xdone', txid);
  }

  tx(txid: string): string {
    return this.space.key('xtx', txid);
  }

  get due(): string {
    return this.space.key('xtx-due', 'all');
  }
}
