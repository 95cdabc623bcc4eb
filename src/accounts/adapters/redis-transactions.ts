import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { AtomicError, decodeRedisError, idempotentCall, IdempotentCall, KernelErrorCode, operationId } from '@kernel/core';
import { execMulti, IdempotentDecision, idempotentWatch, RedisClient, WatchPlan, WatchRunner } from '@kernel/redis';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, Transfer, TransferReceipt, WriteOptions,
} from '../accounts.port';
import { AccountEvent, accountEvents } from '../events';
import { encodeEntry, entryOfCursor, historyPage, KindCode } from '../history-codec';
import type { AccountKeys } from '../keys';
import { AccountState, accountsError, LedgerLimits, planMovement, planTransfers, requestOf } from '../ledger-rules';
import { toAccount, toBalance, toReceipts } from './replies';

/** A decision taken on fresh reads: the writes and the reply values (lua/accounts.lua's layout), or a failure. */
type Decision = IdempotentDecision;

/**
 * MULTI/EXEC from the client, with the weakest mechanism that is still correct per operation:
 * - open: WATCH the account, check it is absent, then MULTI { HSET; XADD } — its event must be appended only
 *   when the account is created, which a plain MULTI of HSETNX could not decide;
 * - deposit, withdraw, transfer, batch: WATCH what is read (the accounts, and their history keys' types),
 *   check in TypeScript, then MULTI/EXEC (a floor, an existence or an overflow check needs a read first);
 * - with an idempotency key, every write also WATCHes and reads its record, and writes it in the same MULTI
 *   (so even open becomes a WATCH transaction);
 * - every write appends its event (XADD to the shard's stream, MAXLEN ~) in the same MULTI. The stream's TYPE is
 *   read with the other keys but NOT watched: every write of the shard appends to it, so watching it would make
 *   every write conflict with every other one. (Only a foreign writer could change its type in between.)
 * - get: one HMGET; history's first page: one MULTI { EXISTS; LRANGE } (a consistent snapshot); a later page
 *   WATCHes the list, finds the cursor (LPOS), then reads the range in MULTI.
 */
export class RedisTransactionsAccountsLedger implements AccountsLedger {
  constructor(
    private readonly client: RedisClient,
    private readonly watch: WatchRunner,
    private readonly keys: AccountKeys,
    private readonly limits: LedgerLimits,
  ) {}

  async open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    const { id, balance = 0, minBalance = 0 } = cmd;
    const key = this.keys.account(id);
    const call = this.call(options, requestOf.open(cmd));
    return this.transact(call, [key], async (c) => {
      const [[err, exists], [, eventsType]] = (await c.pipeline().exists(key).type(this.keys.events).exec())!;
      if (err) throw err;
      checkEventsType(this.keys.events, eventsType);
      return exists;
    }, (exists): Decision => exists
      ? { error: accountsError('ACCOUNT_EXISTS', 'account already exists') }
      : {
        values: [balance, minBalance],
        write: (m) => {
          m.hset(key, 'b', balance, 'm', minBalance);
          this.append(m, accountEvents.opened(id, balance, minBalance));
        },
      },
    (values) => toAccount(id, values));
  }

  async get(id: string): Promise<Account> {
    const key = this.keys.account(id);
    const state = parseAccount(key, await this.client.hmget(key, 'b', 'm').catch((err) => Promise.reject(decodeRedisError(err))));
    if (!state) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return { id, ...state };
  }

  deposit(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.move(cmd.id, cmd.amount, 'd', this.call(options, requestOf.deposit(cmd)));
  }

  withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.move(cmd.id, -cmd.amount, 'w', this.call(options, requestOf.withdraw(cmd)));
  }

  transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt> {
    return this.apply([cmd], false, this.call(options, requestOf.transfer(cmd)), ([receipt]) => receipt);
  }

  transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]> {
    return this.apply(cmds, true, this.call(options, requestOf.batch(cmds)), (receipts) => receipts);
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    const account = this.keys.account(id);
    const list = this.keys.history(id);
    if (!cursor) {
      const [exists, stored] = await execMulti(this.client, (m) => m.exists(account).lrange(list, 0, limit));
      if (exists !== 1) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
      return historyPage(stored as string[], limit);
    }
    // The page starts after the cursor's position, which new entries shift: WATCH the list so the position
    // and the range come from the same version of it.
    return this.watch.run([account, list], async (connection): Promise<WatchPlan<HistoryPage>> => {
      const replies = (await connection.pipeline().exists(account).lpos(list, entryOfCursor(cursor)).exec())!;
      const failed = replies.find(([err]) => err);
      if (failed) throw failed[0]; // a drop is retried by the runner; WRONGTYPE becomes STORE_CORRUPTED
      const [[, exists], [, position]] = replies;
      if (exists !== 1) return { fail: accountsError('ACCOUNT_NOT_FOUND', 'account not found') };
      if (position === null) return { value: { entries: [], next: null } }; // trimmed, and everything older too
      const start = (position as number) + 1;
      return { write: (m) => m.lrange(list, start, start + limit), result: ([stored]) => historyPage(stored as string[], limit) };
    });
  }

  private move(id: string, delta: number, kind: KindCode, call: IdempotentCall | undefined): Promise<Balance> {
    return this.transact(call, [this.keys.account(id), this.keys.history(id)],
      (c) => readAccounts(c, this.keys, [id]),
      ({ accounts: [state], ms }): Decision => {
        let balance: number;
        try {
          balance = planMovement(state, delta);
        } catch (error) {
          return { error: error as AtomicError };
        }
        return {
          values: [balance, ms],
          write: (m) => {
            const opId = operationId(call);
            m.hincrby(this.keys.account(id), 'b', delta);
            this.push(m, id, [encodeEntry(opId, kind, ms, delta, '', balance)]);
            this.append(m, accountEvents.moved(opId, id, delta, balance));
          },
        };
      },
      (values) => toBalance(id, values));
  }

  private apply<T>(cmds: readonly Transfer[], batch: boolean, call: IdempotentCall | undefined,
    pick: (receipts: TransferReceipt[]) => T): Promise<T> {
    const ids = [...new Set(cmds.flatMap(({ from, to }) => [from, to]))];
    const transferIds = cmds.map((_, i) => operationId(call, i));
    return this.transact(call, ids.flatMap((id) => [this.keys.account(id), this.keys.history(id)]),
      (c) => readAccounts(c, this.keys, ids),
      ({ accounts: states, ms }): Decision => {
        const accounts = new Map<string, AccountState>(ids.map((id, i) => [id, states[i]]));
        let plan: ReturnType<typeof planTransfers>;
        try {
          plan = planTransfers(accounts, cmds, batch);
        } catch (error) {
          return { error: error as AtomicError };
        }
        const entries = new Map<string, string[]>(ids.map((id) => [id, []]));
        cmds.forEach((cmd, i) => {
          const [fromBalance, toBalance] = plan.after[i];
          entries.get(cmd.from)!.push(encodeEntry(transferIds[i], 'o', ms, -cmd.amount, cmd.to, fromBalance));
          entries.get(cmd.to)!.push(encodeEntry(transferIds[i], 'i', ms, cmd.amount, cmd.from, toBalance));
        });
        return {
          values: [...plan.after.flat(), ms],
          write: (m) => {
            for (const id of ids) {
              const delta = plan.balances.get(id)! - accounts.get(id)!.balance;
              if (delta !== 0) m.hincrby(this.keys.account(id), 'b', delta);
              this.push(m, id, entries.get(id)!);
            }
            this.append(m, accountEvents.transfers(cmds, transferIds, plan.after, batch));
          },
        };
      },
      (values) => pick(toReceipts(cmds, transferIds, values)));
  }

  /** One WATCH transaction with the idempotency record watched, read and written in it (see idempotent-steps.ts). */
  private transact<R, T>(call: IdempotentCall | undefined, keys: string[], read: (c: Redis) => Promise<R>,
    decide: (data: R) => Decision, decode: (values: unknown[]) => T): Promise<T> {
    return idempotentWatch(this.watch, { call, recordKey: (digest) => this.keys.record(digest), keys, read, decide, decode });
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, { ttlSeconds: this.limits.idempotencyTtlSeconds });
  }

  private append(m: ChainableCommander, { type, data }: AccountEvent): void {
    m.xadd(this.keys.events, 'MAXLEN', '~', this.limits.eventsMaxLen, '*', 'type', type, 'data', JSON.stringify(data));
  }

  /** Entries oldest first, so the newest ends at the head; then keep the newest `historyLimit`. */
  private push(m: ChainableCommander, accountId: string, entries: string[]): void {
    const key = this.keys.history(accountId);
    m.lpush(key, ...entries).ltrim(key, 0, this.limits.historyLimit - 1);
  }
}

/**
 * Reads accounts (balance, floor), checks their history keys are lists, and reads the server clock — in one
 * round trip. Data our writes could not apply to (a non-integer balance, a history of another type) is refused
 * here, before MULTI: a failing command inside EXEC would not undo the others.
 */
async function readAccounts(connection: Redis, keys: AccountKeys, ids: readonly string[]):
  Promise<{ accounts: AccountState[]; ms: number }> {
  const pipeline = connection.pipeline();
  for (const id of ids) pipeline.hmget(keys.account(id), 'b', 'm').type(keys.history(id));
  pipeline.type(keys.events).time();
  const replies = (await pipeline.exec())!;
  const accounts = ids.map((id, i) => {
    const [[readErr, fields], [, historyType]] = [replies[2 * i], replies[2 * i + 1]];
    if (readErr) throw readErr;
    if (historyType !== 'list' && historyType !== 'none') throw corrupted(keys.history(id), 'history is not a list');
    return parseAccount(keys.account(id), fields as (string | null)[]);
  });
  checkEventsType(keys.events, replies[replies.length - 2][1]);
  const [seconds, micros] = replies[replies.length - 1][1] as [string, string];
  return { accounts, ms: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) };
}

/** XADD to a key of another type would fail inside EXEC after the other writes applied: refuse it before. */
function checkEventsType(key: string, type: unknown): void {
  if (type !== 'stream' && type !== 'none') throw corrupted(key, 'event log is not a stream');
}

function parseAccount(key: string, [balance, floor]: (string | null)[]): AccountState {
  if (balance === null) return null;
  if (!isSafeIntegerText(balance) || !isSafeIntegerText(floor)) throw corrupted(key, 'account is not two safe integers');
  return { balance: Number(balance), minBalance: Number(floor) };
}

/** An integer exactly as HINCRBY reads one (Number() alone accepts '1e3', '007', ' 5', '0x10', ''). */
const isSafeIntegerText = (text: string | null): text is string =>
  text !== null && /^(0|-?[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text));

const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });
