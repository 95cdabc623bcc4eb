import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, PendingTransfer, PostPending, SweepResult,
  Transfer, TransferReceipt, VoidPending, WriteOptions,
} from './accounts.port';
import {
  checkBatch, checkHistoryQuery, checkMovement, checkOpen, checkPost, checkSweepLimit, checkTransfer, LedgerLimits,
} from './ledger-rules';
import { assertId, assertIdempotencyKey } from '@kernel/core';

/**
 * The one gate every adapter sits behind (bound in AccountsModule): input that breaks a rule rejects with
 * VALIDATION_FAILED before any adapter — and so before Redis — sees it. Adapters may assume valid input.
 */
export class ValidatedLedger implements AccountsLedger {
  constructor(private readonly inner: AccountsLedger, private readonly limits: LedgerLimits) {}

  async open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    const opened = checkOpen(cmd);
    return this.inner.open(opened, checkOptions(options));
  }

  async get(id: string): Promise<Account> {
    assertId(id, 'id');
    return this.inner.get(id);
  }

  async deposit(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    checkMovement(cmd);
    return this.inner.deposit(cmd, checkOptions(options));
  }

  async withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    checkMovement(cmd);
    return this.inner.withdraw(cmd, checkOptions(options));
  }

  async transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt> {
    checkTransfer(cmd);
    return this.inner.transfer(cmd, checkOptions(options));
  }

  async transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]> {
    checkBatch(cmds, this.limits);
    return this.inner.transferBatch(cmds, checkOptions(options));
  }

  async history(id: string, query?: HistoryQuery): Promise<HistoryPage> {
    return this.inner.history(id, checkHistoryQuery(id, query));
  }

  async postTransfer(cmd: PostPending, options?: WriteOptions): Promise<PendingTransfer> {
    checkPost(cmd);
    return this.inner.postTransfer({ id: cmd.id, amount: cmd.amount }, checkOptions(options));
  }

  async voidTransfer(cmd: VoidPending, options?: WriteOptions): Promise<PendingTransfer> {
    assertId(cmd?.id, 'id');
    return this.inner.voidTransfer({ id: cmd.id }, checkOptions(options));
  }

  async getTransfer(id: string): Promise<PendingTransfer> {
    assertId(id, 'id');
    return this.inner.getTransfer(id);
  }

  async sweepExpired(limit?: number): Promise<SweepResult> {
    return this.inner.sweepExpired(checkSweepLimit(limit));
  }

  async listPending(limit?: number): Promise<PendingTransfer[]> {
    return this.inner.listPending(checkSweepLimit(limit));
  }
}

function checkOptions(options: WriteOptions | undefined): WriteOptions {
  assertIdempotencyKey(options?.idempotencyKey);
  return { idempotencyKey: options?.idempotencyKey };
}
