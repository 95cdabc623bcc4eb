import { decodeRedisError, idempotentCall, IdempotentCall, operationId } from '@kernel/core';
import { FunctionLibrary, idempotentFcall, RedisClient } from '@kernel/redis';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, PendingTransfer, PostPending, SweepResult,
  Transfer, TransferReceipt, VoidPending, WriteOptions,
} from '../accounts.port';
import { entryOfCursor, historyPage } from '../history-codec';
import type { AccountKeys } from '../keys';
import { LedgerLimits, pendingView, requestOf } from '../ledger-rules';
import { toAccount, toBalance, toPending, toReceipts, toRecord } from './replies';
import { listPendingFromIndex } from './pending-index';

/**
 * Every operation is one FCALL of lua/accounts.lua: reads, checks, writes and the idempotency record run
 * atomically on the server, in one round trip, and business failures come back as typed error codes.
 */
export class RedisFunctionsAccountsLedger implements AccountsLedger {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: AccountKeys,
    private readonly limits: LedgerLimits,
    /** Plain reads (a pending transfer's accounts, before its FCALL). */
    private readonly client: RedisClient,
  ) {}

  async open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    const call = this.call(options, requestOf.open(cmd));
    return this.write('open', call, [this.keys.account(cmd.id), this.keys.events],
      [cmd.balance ?? 0, cmd.minBalance ?? 0, cmd.id, this.limits.eventsMaxLen],
      (values) => toAccount(cmd.id, values));
  }

  async get(id: string): Promise<Account> {
    return toAccount(id, (await this.lib.callReadOnly('get', [this.keys.account(id)])) as unknown[]);
  }

  deposit(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.move('deposit', cmd, this.call(options, requestOf.deposit(cmd)));
  }

  withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.move('withdraw', cmd, this.call(options, requestOf.withdraw(cmd)));
  }

  async transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt> {
    const { from, to, amount, minBalance } = cmd;
    const call = this.call(options, requestOf.transfer(cmd));
    const id = operationId(call);
    if (cmd.pending) {
      return this.write('transfer_pending', call,
        [this.keys.account(from), this.keys.account(to), this.keys.history(from), this.keys.history(to), this.keys.pending(id),
          this.keys.deadlines, this.keys.events],
        [amount, minBalance ?? '', id, this.limits.historyLimit, from, to, this.limits.eventsMaxLen, cmd.timeoutSeconds!],
        (values) => toReceipts([cmd], [id], values)[0]);
    }
    return this.write('transfer', call,
      [this.keys.account(from), this.keys.account(to), this.keys.history(from), this.keys.history(to), this.keys.events],
      [amount, minBalance ?? '', id, this.limits.historyLimit, from, to, this.limits.eventsMaxLen],
      (values) => toReceipts([cmd], [id], values)[0]);
  }

  async transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]> {
    const call = this.call(options, requestOf.batch(cmds));
    const index = new Map<string, number>(); // account id → 1-based position in KEYS
    for (const { from, to } of cmds) {
      if (!index.has(from)) index.set(from, index.size + 1);
      if (!index.has(to)) index.set(to, index.size + 1);
    }
    const ids = [...index.keys()];
    const transferIds = cmds.map((_, i) => operationId(call, i));
    const keys = [...ids.map((id) => this.keys.account(id)), ...ids.map((id) => this.keys.history(id)), this.keys.events,
      this.keys.deadlines, ...transferIds.filter((_, i) => cmds[i].pending).map((id) => this.keys.pending(id))];
    const args: (string | number)[] = [this.limits.historyLimit, ids.length, this.limits.eventsMaxLen, ...ids];
    cmds.forEach((cmd, i) => args.push(index.get(cmd.from)!, index.get(cmd.to)!, cmd.amount, cmd.minBalance ?? '', transferIds[i],
      cmd.pending ? cmd.timeoutSeconds! : ''));
    return this.write('transfer_batch', call, keys, args, (values) => toReceipts(cmds, transferIds, values));
  }

  async history(id: string, { limit = 50, cursor }: HistoryQuery = {}): Promise<HistoryPage> {
    const stored = await this.lib.callReadOnly('history', [this.keys.account(id), this.keys.history(id)],
      [cursor ? entryOfCursor(cursor) : '', limit + 1]);
    return historyPage(stored as string[], limit);
  }

  postTransfer(cmd: PostPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.resolve('post', cmd.id, cmd.amount ?? '', this.call(options, requestOf.post(cmd)));
  }

  voidTransfer(cmd: VoidPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.resolve('void', cmd.id, '', this.call(options, requestOf.void(cmd.id)));
  }

  async getTransfer(id: string): Promise<PendingTransfer> {
    const values = (await this.lib.callReadOnly('get_transfer', [this.keys.pending(id)])) as unknown[];
    return pendingView(id, toRecord(values), Number(values[8]));
  }

  listPending(limit = 100): Promise<PendingTransfer[]> {
    return listPendingFromIndex(this.client, this.keys, limit, (id) => this.getTransfer(id));
  }

  async sweepExpired(limit = 100): Promise<SweepResult> {
    const due = (await this.lib.callReadOnly('due', [this.keys.deadlines], [limit])) as string[];
    const expired: string[] = [];
    for (const id of due) {
      const keys = await this.resolveKeys(id);
      const [, released] = (await this.lib.call('expire', keys, ['', 0, id, '', this.limits.historyLimit, this.limits.eventsMaxLen])) as
        number[];
      if (released === 1) expired.push(id);
    }
    return { expired };
  }

  /**
   * Post, void: the pending transfer's accounts are read first (they never change), so the FCALL declares every key
   * it touches; the function checks they are the transfer's own. None found: the call declares only the record
   * and answers PENDING_TRANSFER_NOT_FOUND (recorded under an idempotency key like any outcome).
   */
  private async resolve(fn: 'post' | 'void', id: string, amount: number | '', call: IdempotentCall | undefined): Promise<PendingTransfer> {
    return this.write(fn, call, await this.resolveKeys(id), [id, amount, this.limits.historyLimit, this.limits.eventsMaxLen],
      (values) => toPending(id, values));
  }

  private async resolveKeys(id: string): Promise<string[]> {
    const key = this.keys.pending(id);
    const [from, to] = await this.client.hmget(key, 'f', 't').catch((err) => Promise.reject(decodeRedisError(err)));
    const base = [key, this.keys.deadlines, this.keys.events];
    if (from === null || to === null) return base;
    return [...base, this.keys.account(from), this.keys.account(to), this.keys.history(from), this.keys.history(to)];
  }

  private move(fn: 'deposit' | 'withdraw', { id, amount }: Movement, call: IdempotentCall | undefined): Promise<Balance> {
    return this.write(fn, call, [this.keys.account(id), this.keys.history(id), this.keys.events],
      [amount, operationId(call), this.limits.historyLimit, id, this.limits.eventsMaxLen], (values) => toBalance(id, values));
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, { ttlSeconds: this.limits.idempotencyTtlSeconds });
  }

  /** A write FCALL with its idempotency record (kernel: idempotentFcall). */
  private write<T>(fn: string, call: IdempotentCall | undefined, keys: string[], args: (string | number)[],
    decode: (values: unknown[]) => T): Promise<T> {
    return idempotentFcall(this.lib, fn, { call, recordKey: (digest) => this.keys.record(digest), keys, args, decode });
  }
}
