import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { AccountsLedger, Transfer, TransferReceipt } from '../../src/accounts/accounts.port';
import type { AccountKeys } from '../../src/accounts/keys';
import { encodeEntry } from '../../src/accounts/history-codec';

/**
 * Deliberately broken transfer implementations — the designs we refuse to ship — kept as test doubles
 * to prove the bank invariant checker catches them. They store data exactly like the real adapters, so
 * only their (missing) atomicity differs. Everything but transfers delegates to a real ledger.
 */
abstract class BrokenLedger implements AccountsLedger {
  constructor(protected readonly real: AccountsLedger, protected readonly client: Redis, protected readonly keys: AccountKeys) {}

  open: AccountsLedger['open'] = (cmd) => this.real.open(cmd);
  get: AccountsLedger['get'] = (id) => this.real.get(id);
  deposit: AccountsLedger['deposit'] = (cmd) => this.real.deposit(cmd);
  withdraw: AccountsLedger['withdraw'] = (cmd) => this.real.withdraw(cmd);
  history: AccountsLedger['history'] = (id, query) => this.real.history(id, query);
  postTransfer: AccountsLedger['postTransfer'] = (cmd) => this.real.postTransfer(cmd);
  voidTransfer: AccountsLedger['voidTransfer'] = (cmd) => this.real.voidTransfer(cmd);
  getTransfer: AccountsLedger['getTransfer'] = (id) => this.real.getTransfer(id);
  sweepExpired: AccountsLedger['sweepExpired'] = (limit) => this.real.sweepExpired(limit);
  listPending: AccountsLedger['listPending'] = (limit) => this.real.listPending(limit);

  abstract transfer(cmd: Transfer): Promise<TransferReceipt>;

  async transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    const receipts: TransferReceipt[] = [];
    for (const cmd of cmds) receipts.push(await this.transfer(cmd));
    return receipts;
  }

  /** History exactly as the real adapters write it; returns the time used. */
  protected record(multi: ReturnType<Redis['multi']>, id: string, cmd: Transfer, fromBalance: number, toBalance: number): string {
    const ms = Date.now();
    multi.lpush(this.keys.history(cmd.from), encodeEntry(id, 'o', ms, -cmd.amount, cmd.to, fromBalance));
    multi.lpush(this.keys.history(cmd.to), encodeEntry(id, 'i', ms, cmd.amount, cmd.from, toBalance));
    return new Date(ms).toISOString();
  }
}

/** The seed's Step 1: MULTI { DECRBY; INCRBY } with no check at all — atomic, but it overdraws. */
export class SeedMultiLedger extends BrokenLedger {
  async transfer(cmd: Transfer): Promise<TransferReceipt> {
    const id = randomUUID();
    const multi = this.client.multi()
      .hincrby(this.keys.account(cmd.from), 'b', -cmd.amount)
      .hincrby(this.keys.account(cmd.to), 'b', cmd.amount);
    // History needs the resulting balances, which MULTI cannot read: run it in a second step, as the seed would.
    const [[, fromBalance], [, toBalance]] = (await multi.exec()) as [Error | null, number][];
    const history = this.client.multi();
    const at = this.record(history, id, cmd, fromBalance, toBalance);
    await history.exec();
    return { id, from: { id: cmd.from, balance: fromBalance }, to: { id: cmd.to, balance: toBalance }, amount: cmd.amount, at };
  }
}

/** Checks the floor on a plain read, then writes absolute balances in MULTI — without WATCH. Loses updates. */
export class ReadThenWriteLedger extends BrokenLedger {
  async transfer(cmd: Transfer): Promise<TransferReceipt> {
    const [[fromBalance, floor], [toBalance]] = await Promise.all([
      this.client.hmget(this.keys.account(cmd.from), 'b', 'm'),
      this.client.hmget(this.keys.account(cmd.to), 'b'),
    ]);
    const from = Number(fromBalance) - cmd.amount;
    const to = Number(toBalance) + cmd.amount;
    if (from < Math.max(Number(floor), cmd.minBalance ?? -Infinity)) {
      throw Object.assign(new Error('insufficient funds'), { code: 'INSUFFICIENT_FUNDS' });
    }
    const id = randomUUID();
    const multi = this.client.multi()
      .hset(this.keys.account(cmd.from), 'b', from)
      .hset(this.keys.account(cmd.to), 'b', to);
    const at = this.record(multi, id, cmd, from, to);
    await multi.exec();
    return { id, from: { id: cmd.from, balance: from }, to: { id: cmd.to, balance: to }, amount: cmd.amount, at };
  }
}

/**
 * Posts a pending transfer WITHOUT checking its state or deadline (it does check the amount): the record is read,
 * then MULTI moves the money and clears the reservation. Posting an already resolved transfer moves money again and
 * releases a reservation twice — what the two-phase checker must catch.
 */
export class UncheckedPostLedger extends BrokenLedger {
  transfer = (cmd: Transfer): Promise<TransferReceipt> => this.real.transfer(cmd);

  override postTransfer: AccountsLedger['postTransfer'] = async ({ id, amount }) => {
    const view = await this.real.getTransfer(id);
    const posted = amount ?? view.amount;
    if (posted > view.amount) throw Object.assign(new Error('amount exceeded'), { code: 'PENDING_TRANSFER_AMOUNT_EXCEEDED' });
    const ms = Date.now();
    const [, [, fromBalance], , [, toBalance]] = (await this.client.multi()
      .hincrby(this.keys.account(view.from), 'dp', -view.amount).hincrby(this.keys.account(view.from), 'b', -posted)
      .hincrby(this.keys.account(view.to), 'cp', -view.amount).hincrby(this.keys.account(view.to), 'b', posted)
      .hset(this.keys.pending(id), 's', 'posted', 'r', ms, 'p', posted)
      .zrem(this.keys.deadlines, id)
      .exec()) as [Error | null, number][];
    await this.client.multi()
      .lpush(this.keys.history(view.from), encodeEntry(id, 'po', ms, -posted, view.to, fromBalance))
      .lpush(this.keys.history(view.to), encodeEntry(id, 'pi', ms, posted, view.from, toBalance))
      .exec();
    return { ...view, status: 'posted', postedAmount: posted, resolvedAt: new Date(ms).toISOString() };
  };
}
