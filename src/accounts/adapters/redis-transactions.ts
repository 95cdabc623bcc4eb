import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import {
  AtomicError, decodeRedisError, idempotentCall, IdempotentCall, isReplayed, KernelErrorCode, markReplayed, operationId,
} from '@kernel/core';
import { execMulti, IdempotentDecision, idempotentWatch, RedisClient, WatchPlan, WatchRunner } from '@kernel/redis';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, PendingStatus, PendingTransfer, PostPending,
  SweepResult, Transfer, TransferReceipt, VoidPending, WriteOptions,
} from '../accounts.port';
import { AccountEvent, accountEvents } from '../events';
import { encodeEntry, entryOfCursor, historyPage, KindCode } from '../history-codec';
import type { AccountKeys } from '../keys';
import {
  AccountState, accountsError, accountView, LedgerLimits, PendingRecord, pendingView, planMovement, planResolve, planTransfers, requestOf,
  Resolution,
} from '../ledger-rules';
import { toAccount, toBalance, toPending, toReceipts } from './replies';
import { listPendingFromIndex } from './pending-index';

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
    const state = parseAccount(key, await this.client.hmget(key, ...ACCOUNT_FIELDS).catch((err) => Promise.reject(decodeRedisError(err))));
    if (!state) throw accountsError('ACCOUNT_NOT_FOUND', 'account not found');
    return accountView(id, state);
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
    const pendingKeys = transferIds.filter((_, i) => cmds[i].pending).map((id) => this.keys.pending(id));
    return this.transact(call, [...ids.flatMap((id) => [this.keys.account(id), this.keys.history(id)]), ...pendingKeys],
      (c) => readAccounts(c, this.keys, ids, pendingKeys),
      ({ accounts: states, ms, pendingTaken }): Decision => {
        // A new pending transfer's id is fresh (random, or derived from an idempotency key whose record expired).
        if (pendingTaken) throw new AtomicError('INVALID_ARGUMENT', 'transfer id must be a new pending transfer id');
        const accounts = new Map<string, AccountState>(ids.map((id, i) => [id, states[i]]));
        let plan: ReturnType<typeof planTransfers>;
        try {
          plan = planTransfers(accounts, cmds, batch);
        } catch (error) {
          return { error: error as AtomicError };
        }
        const entries = new Map<string, string[]>(ids.map((id) => [id, []]));
        const deadlines = cmds.map((cmd) => (cmd.pending ? ms + cmd.timeoutSeconds! * 1000 : undefined));
        const values: number[] = [];
        cmds.forEach((cmd, i) => {
          const [fromBalance, toBalance] = plan.after[i];
          const [out, into] = cmd.pending ? ['ho', 'hi'] as const : ['o', 'i'] as const;
          entries.get(cmd.from)!.push(encodeEntry(transferIds[i], out, ms, -cmd.amount, cmd.to, fromBalance));
          entries.get(cmd.to)!.push(encodeEntry(transferIds[i], into, ms, cmd.amount, cmd.from, toBalance));
          // lua/accounts.lua's reply layout: a single pending transfer is { balances, ms, deadline }.
          if (!batch && cmd.pending) values.push(fromBalance, toBalance, ms, deadlines[i]!);
          else values.push(fromBalance, toBalance, ...(cmd.pending ? [deadlines[i]!] : []));
        });
        if (batch || !cmds[0].pending) values.push(ms);
        return {
          values,
          write: (m) => {
            for (const id of ids) {
              const before = accounts.get(id)!;
              const after = plan.positions.get(id)!;
              if (after.balance !== before.balance) m.hincrby(this.keys.account(id), 'b', after.balance - before.balance);
              if (after.pendingDebits !== before.pendingDebits) m.hincrby(this.keys.account(id), 'dp', after.pendingDebits - before.pendingDebits);
              if (after.pendingCredits !== before.pendingCredits) {
                m.hincrby(this.keys.account(id), 'cp', after.pendingCredits - before.pendingCredits);
              }
              this.push(m, id, entries.get(id)!);
            }
            cmds.forEach((cmd, i) => {
              if (!cmd.pending) return;
              m.hset(this.keys.pending(transferIds[i]), 'f', cmd.from, 't', cmd.to, 'a', cmd.amount, 's', 'pending', 'c', ms, 'e', deadlines[i]!);
              m.zadd(this.keys.deadlines, deadlines[i]!, transferIds[i]);
            });
            this.append(m, accountEvents.transfers(cmds, transferIds, plan.after, batch, deadlines));
          },
        };
      },
      (values) => pick(toReceipts(cmds, transferIds, values)));
  }

  postTransfer(cmd: PostPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.resolve('post', cmd.id, this.call(options, requestOf.post(cmd)), cmd.amount).then((values) => pendingOf(cmd.id, values!));
  }

  voidTransfer(cmd: VoidPending, options?: WriteOptions): Promise<PendingTransfer> {
    return this.resolve('void', cmd.id, this.call(options, requestOf.void(cmd.id))).then((values) => pendingOf(cmd.id, values!));
  }

  async getTransfer(id: string): Promise<PendingTransfer> {
    const key = this.keys.pending(id);
    const [fields, [seconds, micros]] = (await execMulti(this.client, (m) => m.hmget(key, ...PENDING_FIELDS).time())) as
      [(string | null)[], [string, string]];
    const record = parsePending(key, fields);
    if (!record) throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found');
    return pendingView(id, record, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
  }

  listPending(limit = 100): Promise<PendingTransfer[]> {
    return listPendingFromIndex(this.client, this.keys, limit, (id) => this.getTransfer(id));
  }

  async sweepExpired(limit = 100): Promise<SweepResult> {
    const [seconds, micros] = await this.client.time().catch((err) => Promise.reject(decodeRedisError(err)));
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    const due = await this.client.zrange(this.keys.deadlines, '-inf', now, 'BYSCORE', 'LIMIT', 0, limit)
      .catch((err) => Promise.reject(decodeRedisError(err)));
    const expired: string[] = [];
    for (const id of due) if (await this.resolve('expire', id, undefined)) expired.push(id);
    return { expired };
  }

  /**
   * Post, void or expire: WATCH the pending transfer and read it, then WATCH its accounts and histories and read
   * them with the server clock (TIME inside the attempt: the deadline is judged by server time), decide with
   * ledger-rules' planResolve, MULTI. Replies in lua/include/accounts-pending.lua's layout; expire: null when it
   * had nothing to do (not recorded: expiries carry no idempotency key).
   */
  private resolve(mode: Resolution, id: string, call: IdempotentCall | undefined, amount?: number): Promise<unknown[] | null> {
    const key = this.keys.pending(id);
    type Read = { record: PendingRecord | null; accounts: AccountState[]; ms: number };
    return idempotentWatch<Read, unknown[] | null>(this.watch, {
      call, recordKey: (digest) => this.keys.record(digest), keys: [key],
      read: async (c) => {
        const record = parsePending(key, await c.hmget(key, ...PENDING_FIELDS));
        const ids = record ? [record.from, record.to] : [];
        if (record) await c.watch(...ids.flatMap((a) => [this.keys.account(a), this.keys.history(a)]));
        const read = await readAccounts(c, this.keys, ids, [], this.keys.deadlines);
        return { record, ...read };
      },
      decide: ({ record, accounts: [from, to], ms }) => {
        let posted: number | null;
        try {
          posted = planResolve(record, mode, ms, amount);
        } catch (error) {
          return { error: error as AtomicError };
        }
        if (posted === null || !record) return { unrecorded: { value: null } };
        if (!from || !to || from.pendingDebits < record.amount || to.pendingCredits < record.amount) {
          // Either another resolution committed between our read of the transfer and our WATCH of its accounts — then
          // the transfer (watched first) changed and this EXEC aborts, so the attempt starts again — or the data is
          // really inconsistent: an EXEC that goes through proves it.
          return { unrecorded: { write: (m) => m.exists(key), result: () => { throw corrupted(key, 'pending transfer does not match its accounts'); } } };
        }
        const [fromBalance, toBalance] = [from.balance - posted, to.balance + posted];
        const [kind, state] = mode === 'post' ? ['p', 'posted'] as const : mode === 'void' ? ['v', 'voided'] as const : ['x', 'expired'] as const;
        const [outAmount, inAmount] = mode === 'post' ? [-posted, posted] : [record.amount, -record.amount];
        return {
          values: mode === 'expire' ? [1]
            : [record.from, record.to, record.amount, state, record.createdMs, record.deadlineMs, ms, posted, fromBalance, toBalance],
          write: (m) => {
            this.push(m, record.from, [encodeEntry(id, `${kind}o`, ms, outAmount, record.to, fromBalance)]);
            this.push(m, record.to, [encodeEntry(id, `${kind}i`, ms, inAmount, record.from, toBalance)]);
            m.hincrby(this.keys.account(record.from), 'dp', -record.amount);
            m.hincrby(this.keys.account(record.to), 'cp', -record.amount);
            if (posted > 0) m.hincrby(this.keys.account(record.from), 'b', -posted).hincrby(this.keys.account(record.to), 'b', posted);
            m.hset(key, 's', state, 'r', ms, 'p', posted);
            m.zrem(this.keys.deadlines, id);
            this.append(m, accountEvents.resolved(mode, id, record.from, record.to, record.amount, posted, fromBalance, toBalance));
          },
        };
      },
      decode: (values) => values,
    });
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
async function readAccounts(connection: Redis, keys: AccountKeys, ids: readonly string[], pendingKeys: readonly string[] = [],
  deadlines: string | undefined = pendingKeys.length ? keys.deadlines : undefined):
  Promise<{ accounts: AccountState[]; ms: number; pendingTaken: boolean }> {
  const pipeline = connection.pipeline();
  for (const id of ids) pipeline.hmget(keys.account(id), ...ACCOUNT_FIELDS).type(keys.history(id));
  // New pending transfers: their keys must be free; the deadlines' type is read, not watched (like the events').
  if (pendingKeys.length) pipeline.exists(...pendingKeys);
  if (deadlines) pipeline.type(deadlines);
  pipeline.type(keys.events).time();
  const replies = (await pipeline.exec())!;
  const failed = replies.find(([err]) => err);
  if (failed) throw failed[0];
  let next = 2 * ids.length;
  const pendingTaken = pendingKeys.length ? (replies[next++][1] as number) > 0 : false;
  if (deadlines) {
    const type = replies[next++][1];
    if (type !== 'zset' && type !== 'none') throw corrupted(deadlines, 'pending deadlines are not a sorted set');
  }
  const accounts = ids.map((id, i) => {
    const [[readErr, fields], [, historyType]] = [replies[2 * i], replies[2 * i + 1]];
    if (readErr) throw readErr;
    if (historyType !== 'list' && historyType !== 'none') throw corrupted(keys.history(id), 'history is not a list');
    return parseAccount(keys.account(id), fields as (string | null)[]);
  });
  checkEventsType(keys.events, replies[replies.length - 2][1]);
  const [seconds, micros] = replies[replies.length - 1][1] as [string, string];
  return { accounts, ms: Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), pendingTaken };
}

/** The reply values as the port's result, keeping a replay's mark. */
const pendingOf = (id: string, values: unknown[]): PendingTransfer =>
  (isReplayed(values) ? markReplayed(toPending(id, values)) : toPending(id, values));

const ACCOUNT_FIELDS = ['b', 'm', 'dp', 'cp'] as const;
const PENDING_FIELDS = ['f', 't', 'a', 's', 'c', 'e', 'r', 'p'] as const;
const PENDING_STATES = new Set(['pending', 'posted', 'voided', 'expired']);

/** A pending transfer as lua/include/accounts-pending.lua stores it, checked; null when there is none. */
function parsePending(key: string, [from, to, amount, state, created, deadline, resolved, posted]: (string | null)[]): PendingRecord | null {
  if (from === null) return null;
  const id = /^[A-Za-z0-9_-]{1,64}$/;
  if (to === null || !id.test(from) || !id.test(to) || !isSafeIntegerText(amount) || state === null || !PENDING_STATES.has(state) ||
    !isSafeIntegerText(created) || !isSafeIntegerText(deadline) || (resolved !== null && !isSafeIntegerText(resolved)) ||
    (posted !== null && !isSafeIntegerText(posted))) {
    throw corrupted(key, 'pending transfer is not in the shape this library writes');
  }
  return {
    from, to, amount: Number(amount), state: state as PendingStatus, createdMs: Number(created), deadlineMs: Number(deadline),
    ...(resolved !== null && { resolvedMs: Number(resolved) }),
    ...(state === 'posted' && posted !== null && { postedAmount: Number(posted) }),
  };
}

/** XADD to a key of another type would fail inside EXEC after the other writes applied: refuse it before. */
function checkEventsType(key: string, type: unknown): void {
  if (type !== 'stream' && type !== 'none') throw corrupted(key, 'event log is not a stream');
}

function parseAccount(key: string, [balance, floor, debits, credits]: (string | null)[]): AccountState {
  if (balance === null) return null;
  const pendingDebits = debits === null ? 0 : isSafeIntegerText(debits) ? Number(debits) : -1;
  const pendingCredits = credits === null ? 0 : isSafeIntegerText(credits) ? Number(credits) : -1;
  if (!isSafeIntegerText(balance) || !isSafeIntegerText(floor) || pendingDebits < 0 || pendingCredits < 0) {
    throw corrupted(key, 'account is not safe integers');
  }
  return { balance: Number(balance), minBalance: Number(floor), pendingDebits, pendingCredits };
}

/** An integer exactly as HINCRBY reads one (Number() alone accepts '1e3', '007', ' 5', '0x10', ''). */
const isSafeIntegerText = (text: string | null): text is string =>
  text !== null && /^(0|-?[1-9]\d{0,15})$/.test(text) && Number.isSafeInteger(Number(text));

const corrupted = (key: string, message: string) => new AtomicError(KernelErrorCode.STORE_CORRUPTED, message, { key });
