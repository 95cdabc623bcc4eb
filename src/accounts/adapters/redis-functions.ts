import { randomUUID } from 'node:crypto';
import type { FunctionLibrary } from '../../../libs/redis-atomic/src';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, Transfer, TransferReceipt,
} from '../accounts.port';
import type { AccountKeys } from '../keys';
import { entryOfCursor, historyPage } from '../history-codec';
import type { LedgerLimits } from '../ledger-rules';

/**
 * Every operation is one FCALL of lua/accounts.lua: reads, checks and writes run atomically on the server,
 * in one round trip, and business failures come back as typed error codes.
 */
export class RedisFunctionsAccountsLedger implements AccountsLedger {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: AccountKeys,
    private readonly limits: LedgerLimits,
  ) {}

  async open({ id, balance = 0, minBalance = 0 }: OpenAccount): Promise<Account> {
    await this.lib.call('open', [this.keys.account(id)], [balance, minBalance]);
    return { id, balance, minBalance };
  }

  async get(id: string): Promise<Account> {
    const [balance, minBalance] = (await this.lib.callReadOnly('get', [this.keys.account(id)])) as number[];
    return { id, balance, minBalance };
  }

  deposit(cmd: Movement): Promise<Balance> {
    return this.move('deposit', cmd);
  }

  withdraw(cmd: Movement): Promise<Balance> {
    return this.move('withdraw', cmd);
  }

  async transfer({ from, to, amount, minBalance }: Transfer): Promise<TransferReceipt> {
    const id = randomUUID();
    const [fromBalance, toBalance, ms] = (await this.lib.call('transfer',
      [this.keys.account(from), this.keys.account(to), this.keys.history(from), this.keys.history(to)],
      [amount, minBalance ?? '', id, this.limits.historyLimit, from, to])) as [number, number, string];
    return { id, from: { id: from, balance: fromBalance }, to: { id: to, balance: toBalance }, amount, at: isoTime(ms) };
  }

  async transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    const index = new Map<string, number>(); // account id → 1-based position in KEYS
    for (const { from, to } of cmds) {
      if (!index.has(from)) index.set(from, index.size + 1);
      if (!index.has(to)) index.set(to, index.size + 1);
    }
    const ids = [...index.keys()];
    const keys = [...ids.map((id) => this.keys.account(id)), ...ids.map((id) => this.keys.history(id))];
    const transferIds = cmds.map(() => randomUUID());
    const args: (string | number)[] = [this.limits.historyLimit, ids.length, ...ids];
    cmds.forEach((cmd, i) => args.push(index.get(cmd.from)!, index.get(cmd.to)!, cmd.amount, cmd.minBalance ?? '', transferIds[i]));
    const reply = (await this.lib.call('transfer_batch', keys, args)) as (number | string)[];
    const at = isoTime(reply[reply.length - 1] as string);
    return cmds.map((cmd, i) => ({
      id: transferIds[i],
      from: { id: cmd.from, balance: reply[2 * i] as number },
      to: { id: cmd.to, balance: reply[2 * i + 1] as number },
      amount: cmd.amount,
      at,
    }));
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    const stored = await this.lib.callReadOnly('history', [this.keys.account(id), this.keys.history(id)],
      [cursor ? entryOfCursor(cursor) : '', limit + 1]);
    return historyPage(stored as string[], limit);
  }

  private async move(fn: 'deposit' | 'withdraw', { id, amount }: Movement): Promise<Balance> {
    const [balance] = (await this.lib.call(fn, [this.keys.account(id), this.keys.history(id)],
      [amount, randomUUID(), this.limits.historyLimit])) as [number, string];
    return { id, balance };
  }
}

const isoTime = (ms: string): string => new Date(Number(ms)).toISOString();
