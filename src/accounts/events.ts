import type { Transfer } from './accounts.port';

/**
 * The Accounts events, built the same way by every adapter (lua/accounts.lua documents the types and data; the
 * Lua side builds the same JSON). One event per committed write: a batch is ONE `transfer.batch_completed`.
 */
export interface AccountEvent {
  type: 'account.opened' | 'account.deposited' | 'account.withdrawn' | 'transfer.completed' | 'transfer.batch_completed';
  data: Record<string, unknown>;
}

export const accountEvents = {
  opened: (account: string, balance: number, floor: number): AccountEvent =>
    ({ type: 'account.opened', data: { account, balance, floor } }),
  moved: (id: string, account: string, delta: number, balance: number): AccountEvent =>
    ({ type: delta >= 0 ? 'account.deposited' : 'account.withdrawn', data: { id, account, amount: Math.abs(delta), balance } }),
  transfers: (cmds: readonly Transfer[], ids: readonly string[], after: readonly (readonly [number, number])[], batch: boolean):
  AccountEvent => {
    const items = cmds.map((cmd, i) =>
      ({ id: ids[i], from: cmd.from, to: cmd.to, amount: cmd.amount, fromBalance: after[i][0], toBalance: after[i][1] }));
    return batch ? { type: 'transfer.batch_completed', data: { transfers: items } } : { type: 'transfer.completed', data: items[0] };
  },
};
