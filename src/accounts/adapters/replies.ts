import type { Account, Balance, Transfer, TransferReceipt } from '../accounts.port';

/**
 * The reply values of lua/accounts.lua's write functions (after the `replayed` flag), decoded into port results.
 * The transactions adapter stores its idempotency records in the same layout, so both adapters read each
 * other's records. Values may arrive as integers (fresh) or strings (replayed): hence Number().
 */

/** open: { balance, floor } */
export const toAccount = (id: string, [balance, floor]: unknown[]): Account =>
  ({ id, balance: Number(balance), minBalance: Number(floor) });

/** deposit / withdraw: { balance after, server ms } */
export const toBalance = (id: string, [balance]: unknown[]): Balance => ({ id, balance: Number(balance) });

/** transfer / transfer_batch: { source balance, target balance, … per item, server ms } */
export function toReceipts(cmds: readonly Transfer[], ids: readonly string[], values: unknown[]): TransferReceipt[] {
  const at = new Date(Number(values[values.length - 1])).toISOString();
  return cmds.map((cmd, i) => ({
    id: ids[i],
    from: { id: cmd.from, balance: Number(values[2 * i]) },
    to: { id: cmd.to, balance: Number(values[2 * i + 1]) },
    amount: cmd.amount,
    at,
  }));
}
