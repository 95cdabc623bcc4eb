import type { Account, Balance, PendingStatus, PendingTransfer, Transfer, TransferReceipt } from '../accounts.port';
import { accountView, PendingRecord, pendingView } from '../ledger-rules';

/**
 * The reply values of lua/accounts.lua's write functions (after the `replayed` flag), decoded into port results.
 * The transactions adapter stores its idempotency records in the same layout, so both adapters read each
 * other's records. Values may arrive as integers (fresh) or strings (replayed): hence Number().
 */

/** open: { balance, floor }; get: { balance, floor, pending debits, pending credits } */
export const toAccount = (id: string, [balance, floor, debits = 0, credits = 0]: unknown[]): Account =>
  accountView(id, { balance: Number(balance), minBalance: Number(floor), pendingDebits: Number(debits), pendingCredits: Number(credits) });

/** deposit / withdraw: { balance after, server ms } */
export const toBalance = (id: string, [balance]: unknown[]): Balance => ({ id, balance: Number(balance) });

/**
 * transfer / transfer_batch: { source balance, target balance, … per item, server ms }; a pending item is followed
 * by its deadline: transfer_pending replies { source balance, target balance, server ms, deadline ms } and
 * batches carry { …, deadline } after the pair of each pending item.
 */
export function toReceipts(cmds: readonly Transfer[], ids: readonly string[], values: unknown[]): TransferReceipt[] {
  const at = new Date(Number(values[values.length - 1])).toISOString();
  if (cmds.length === 1 && cmds[0].pending) {
    const [from, to, ms, deadline] = values.map(Number);
    return [{ id: ids[0], from: { id: cmds[0].from, balance: from }, to: { id: cmds[0].to, balance: to }, amount: cmds[0].amount,
      at: new Date(ms).toISOString(), status: 'pending', expiresAt: new Date(deadline).toISOString() }];
  }
  let at_ = 0;
  return cmds.map((cmd, i) => {
    const receipt: TransferReceipt = {
      id: ids[i],
      from: { id: cmd.from, balance: Number(values[at_]) },
      to: { id: cmd.to, balance: Number(values[at_ + 1]) },
      amount: cmd.amount,
      at,
    };
    at_ += 2;
    if (!cmd.pending) return receipt;
    return { ...receipt, status: 'pending', expiresAt: new Date(Number(values[at_++])).toISOString() };
  });
}

/**
 * post / void (lua/include/accounts-pending.lua): { source, target, amount, state, created ms, deadline ms,
 * resolved ms, posted amount, source balance, target balance }; get_transfer the same first eight (resolved and
 * posted '' while open) and then the server ms.
 */
export function toRecord(values: unknown[]): PendingRecord {
  const [from, to, amount, state, created, deadline, resolved, posted] = values.map(String);
  return {
    from, to, amount: Number(amount), state: state as PendingStatus, createdMs: Number(created), deadlineMs: Number(deadline),
    ...(state !== 'pending' && resolved !== '' && { resolvedMs: Number(resolved) }),
    ...(state === 'posted' && { postedAmount: Number(posted) }),
  };
}

export const toPending = (id: string, values: unknown[]): PendingTransfer => {
  const record = toRecord(values);
  return pendingView(id, record, record.resolvedMs ?? 0);
};
