import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, execMulti, KernelErrorCode, WatchRunner } from '../../../libs/redis-atomic/src';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, Transfer, TransferReceipt,
} from '../accounts.port';
import type { AccountKeys } from '../keys';
import { AccountState, accountsError, entryTime, LedgerLimits, planMovement, planTransfers } from '../ledger-rules';
import { historyPage, historyStart } from './redis-replies';

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per operation:
 * - open: plain MULTI of two HSETNX — create-if-absent without a read (both apply or neither does);
 * - deposit, withdraw, transfer, batch: WATCH what is read (the accounts and their history keys' types),
 *   check in TypeScript, then MULTI/EXEC
 *   (a floor, an existence check or an overflow check cannot be enforced by MULTI alone);
 * - get, history: single reads (history as a MULTI of EXISTS + XREVRANGE, one consistent snapshot).
 */
export class RedisTransactionsAccountsLedger implements AccountsLedger {
  constructor(
    private readonly client: Redis,
    private readonly watch: WatchRunner,
    private readonly keys: AccountKeys,
    private readonly limits: LedgerLimits,
  ) {}

  async open({ id, balance = 0, minBalance = 0 }: OpenAccount): Promise<Account> {
    const key = this.keys.account(id);
    const [created] = await execMulti(this.client, (m) => m.hsetnx(key, 'b', balance).hsetnx(key, 'm', minBalance));
    if (created !== 1) throw accountsError('ACCOUNT_EXISTS', 'account already exists');
    return { id, balance, minBalance };
  }

  async get(id: string): Promise<Account> {
    const [state] = await readAccounts(this.client, this.keys, [id]).catch((err) => Promise.reject(decodeRedisError(err)));
    if (!state) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return { id, ...state };
  }

  deposit(cmd: Movement): Promise<Balance> {
    return this.move(cmd.id, cmd.amount, 'deposit');
  }

  withdraw(cmd: Movement): Promise<Balance> {
    return this.move(cmd.id, -cmd.amount, 'withdrawal');
  }

  async transfer(cmd: Transfer): Promise<TransferReceipt> {
    return (await this.apply([cmd], false))[0];
  }

  transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    return this.apply(cmds, true);
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    const [exists, raw] = await execMulti(this.client, (m) =>
      m.exists(this.keys.account(id)).xrevrange(this.keys.history(id), historyStart(cursor), '-', 'COUNT', limit + 1));
    if (exists !== 1) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return historyPage(raw, limit);
  }

  private move(id: string, delta: number, type: 'deposit' | 'withdrawal'): Promise<Balance> {
    const account = this.keys.account(id);
    return this.watch.run([account, this.keys.history(id)], async (connection) => {
      const [state] = await readAccounts(connection, this.keys, [id]);
      let balance: number;
      try {
        balance = planMovement(state, delta);
      } catch (fail) {
        return { fail: fail as Error };
      }
      return {
        write: (m) => {
          m.hincrby(account, 'b', delta);
          this.record(m, id, randomUUID(), type, delta, '', balance);
        },
        result: () => ({ id, balance }),
      };
    });
  }

  private apply(cmds: readonly Transfer[], batch: boolean): Promise<TransferReceipt[]> {
    const ids = [...new Set(cmds.flatMap(({ from, to }) => [from, to]))];
    const watched = ids.flatMap((id) => [this.keys.account(id), this.keys.history(id)]);
    return this.watch.run(watched, async (connection) => {
      const states = await readAccounts(connection, this.keys, ids);
      const accounts = new Map<string, AccountState>(ids.map((id, i) => [id, states[i]]));
      let plan: ReturnType<typeof planTransfers>;
      try {
        plan = planTransfers(accounts, cmds, batch);
      } catch (fail) {
        return { fail: fail as Error };
      }
      const transferIds = cmds.map(() => randomUUID());
      const changed = ids.filter((id) => plan.balances.get(id) !== accounts.get(id)!.balance);
      return {
        write: (m) => {
          for (const id of changed) m.hincrby(this.keys.account(id), 'b', plan.balances.get(id)! - accounts.get(id)!.balance);
          cmds.forEach((cmd, i) => {
            const [fromBalance, toBalance] = plan.after[i];
            this.record(m, cmd.from, transferIds[i], 'transfer_out', -cmd.amount, cmd.to, fromBalance);
            this.record(m, cmd.to, transferIds[i], 'transfer_in', cmd.amount, cmd.from, toBalance);
          });
        },
        result: (replies) => {
          const at = entryTime(replies[changed.length] as string); // the first XADD's entry id
          return cmds.map((cmd, i) => ({
            id: transferIds[i],
            from: { id: cmd.from, balance: plan.after[i][0] },
            to: { id: cmd.to, balance: plan.after[i][1] },
            amount: cmd.amount,
            at,
          }));
        },
      };
    });
  }

  private record(m: ChainableCommander, accountId: string, opId: string, kind: string, amount: number, counterparty: string, balance: number) {
    m.xadd(this.keys.history(accountId), 'MAXLEN', this.limits.historyLimit, '*',
      't', opId, 'k', kind, 'a', amount, 'c', counterparty, 'b', balance);
  }
}

/**
 * Reads accounts (balance, floor) and checks their history keys are streams, in one round trip. Data our
 * writes could not apply to (a non-integer balance, a history of another type) is refused here, before
 * MULTI: a failing command inside EXEC would not undo the others.
 */
async function readAccounts(connection: Redis, keys: AccountKeys, ids: readonly string[]): Promise<AccountState[]> {
  const pipeline = connection.pipeline();
  for (const id of ids) pipeline.hmget(keys.account(id), 'b', 'm').type(keys.history(id));
  const replies = (await pipeline.exec())!;
  return ids.map((id, i) => {
    const [[readErr, fields], [, historyType]] = [replies[2 * i], replies[2 * i + 1]];
    if (readErr) throw readErr;
    if (historyType !== 'stream' && historyType !== 'none') throw corrupted(keys.history(id), 'history is not a stream');
    const [balance, floor] = fields as (string | null)[];
    if (balance === null) return null;
    if (!isSafeIntegerText(balance) || !isSafeIntegerText(floor)) throw corrupted(keys.account(id), 'account is not two safe integers');
    return { balance: Number(balance), minBalance: Number(floor) };
  });
}

/** An integer exactly as HINCRBY reads one (Number() alone accepts '1e3', '007', ' 5', '0x10', ''). */
const isSafeIntegerText = (text: string | null): text is string =>
  text !== null && /^(0|-?[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text));

const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });
