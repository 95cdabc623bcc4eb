import type { Transfer } from './accounts.port';

/**
 * The Accounts events, built the same way by every adapter (lua/accounts.lua documents the types and data; the
 * Lua side builds the same JSON). One event per committed write: a batch is ONE `transfer.batch_completed`.
 */
export interface AccountEvent {
  type: 'account.opened' | 'account.deposited' | 'account.withdrawn' | 'transfer.completed' | 'transfer.batch_completed'
    | 'transfer.pending' | 'transfer.posted' | 'transfer.voided' | 'transfer.expired'
    /** A spread ledger's cross-shard transaction, posted on one shard: { id (txid), legs: [{ transfer, account, amount, counterparty, balance }] } */
    | 'transfer.cross_shard_posted';
  data: Record<string, unknown>;
}

export const accountEvents = {
  opened: (account: string, balance: number, floor: number): AccountEvent =>
    ({ type: 'account.opened', data: { account, balance, floor } }),
  moved: (id: string, account: string, delta: number, balance: number): AccountEvent =>
    ({ type: delta >= 0 ? 'account.deposited' : 'account.withdrawn', data: { id, account, amount: Math.abs(delta), balance } }),
  /**
   * A plain transfer: transfer.completed { id, from, to, amount, fromBalance, toBalance }; a pending one:
   * transfer.pending { id, from, to, amount, expiresAt (server ms) }; a batch: ONE transfer.batch_completed
   * { transfers: [those objects; a pending item adds pending: true and expiresAt] }.
   */
  transfers: (cmds: readonly Transfer[], ids: readonly string[], after: readonly (readonly [number, number])[], batch: boolean,
    deadlines: readonly (number | undefined)[] = []): AccountEvent => {
    const items = cmds.map((cmd, i) => (cmd.pending
      ? { id: ids[i], from: cmd.from, to: cmd.to, amount: cmd.amount, ...(batch && { pending: true }), expiresAt: deadlines[i] }
      : { id: ids[i], from: cmd.from, to: cmd.to, amount: cmd.amount, fromBalance: after[i][0], toBalance: after[i][1] }));
    if (batch) return { type: 'transfer.batch_completed', data: { transfers: items } };
    return { type: cmds[0].pending ? 'transfer.pending' : 'transfer.completed', data: items[0] };
  },
  /**
   * transfer.posted { id, from, to, amount (posted), released (the rest), fromBalance, toBalance };
   * transfer.voided / transfer.expired { id, from, to, amount (released) }.
   */
  resolved: (mode: 'post' | 'void' | 'expire', id: string, from: string, to: string, amount: number, posted: number,
    fromBalance: number, toBalance: number): AccountEvent => (mode === 'post'
    ? { type: 'transfer.posted', data: { id, from, to, amount: posted, released: amount - posted, fromBalance, toBalance } }
    : { type: mode === 'void' ? 'transfer.voided' : 'transfer.expired', data: { id, from, to, amount } }),
};
