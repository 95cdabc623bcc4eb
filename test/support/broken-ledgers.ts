import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { AccountsLedger, Transfer, TransferReceipt } from '../../src/accounts/accounts.port';
import type { AccountKeys } from '../../src/accounts/keys';
import { entryTime } from '../../src/accounts/ledger-rules';

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

  abstract transfer(cmd: Transfer): Promise<TransferReceipt>;

  async transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    const receipts: TransferReceipt[] = [];
    for (const cmd of cmds) receipts.push(await this.transfer(cmd));
    return receipts;
  }

  protected record(multi: ReturnType<Redis['multi']>, id: string, cmd: Transfer, fromBalance: number | string, toBalance: number | string) {
    multi.xadd(this.keys.history(cmd.from), '*', 't', id, 'k', 'transfer_out', 'a', -cmd.amount, 'c', cmd.to, 'b', fromBalance);
    multi.xadd(this.keys.history(cmd.to), '*', 't', id, 'k', 'transfer_in', 'a', cmd.amount, 'c', cmd.from, 'b', toBalance);
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
    this.record(history, id, cmd, fromBalance, toBalance);
    const [[, entryId]] = (await history.exec()) as [Error | null, string][];
    return { id, from: { id: cmd.from, balance: fromBalance }, to: { id: cmd.to, balance: toBalance }, amount: cmd.amount, at: entryTime(entryId) };
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
    this.record(multi, id, cmd, from, to);
    const replies = (await multi.exec())!;
    return { id, from: { id: cmd.from, balance: from }, to: { id: cmd.to, balance: to }, amount: cmd.amount, at: entryTime(replies[2][1] as string) };
  }
}
