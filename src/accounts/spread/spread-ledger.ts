import { AtomicError, idempotentCall } from '@kernel/core';
import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, PendingTransfer, PostPending, SweepResult,
  Transfer, TransferReceipt, VoidPending, WriteOptions,
} from '../accounts.port';
import { accountsError, LedgerLimits, requestOf } from '../ledger-rules';
import type { Coordinator } from './coordinator';
import type { EscrowSweeper, SweepReport } from './sweeper';
import type { SpreadRouting } from './spread-keys';

/**
 * A ledger spread over many shards (`AccountsModule.forRoot({ spread: N })`): each shard is an ordinary ledger of
 * the same strategy; an account lives on one shard (SpreadRouting). Operations on one account, and transfers and
 * batches whose accounts share a shard, are that shard's single atomic step (the fast path). A transfer or batch
 * across shards runs the escrow protocol (coordinator.ts) — or, without one (the transactions strategy), is refused
 * with CROSS_SHARD_UNSUPPORTED.
 *
 * Not offered on a spread ledger: pending (two-phase) transfers of the API — post/void by id could not find their
 * shard — so `pending: true` is CROSS_SHARD_UNSUPPORTED and post/void/getTransfer answer PENDING_TRANSFER_NOT_FOUND.
 * `sweepExpired` runs the escrow recovery sweep (the module's sweeper timer drives it).
 */
export class SpreadLedger implements AccountsLedger {
  constructor(
    private readonly shards: readonly AccountsLedger[],
    private readonly routing: SpreadRouting,
    private readonly limits: LedgerLimits,
    private readonly coordinator: Coordinator | undefined,
    private readonly sweeper: EscrowSweeper | undefined,
    private readonly strategy: string,
  ) {}

  open(cmd: OpenAccount, options?: WriteOptions): Promise<Account> {
    return this.on(cmd.id).open(cmd, options);
  }

  get(id: string): Promise<Account> {
    return this.on(id).get(id);
  }

  deposit(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.on(cmd.id).deposit(cmd, options);
  }

  withdraw(cmd: Movement, options?: WriteOptions): Promise<Balance> {
    return this.on(cmd.id).withdraw(cmd, options);
  }

  history(id: string, page?: HistoryQuery): Promise<HistoryPage> {
    return this.on(id).history(id, page);
  }

  async transfer(cmd: Transfer, options?: WriteOptions): Promise<TransferReceipt> {
    this.refusePending([cmd]);
    const shard = this.routing.shardOf(cmd.from);
    if (shard === this.routing.shardOf(cmd.to)) return this.shards[shard].transfer(cmd, options);
    return (await this.cross([cmd], options, false))[0];
  }

  async transferBatch(cmds: readonly Transfer[], options?: WriteOptions): Promise<TransferReceipt[]> {
    this.refusePending(cmds);
    const shards = new Set(cmds.flatMap((c) => [this.routing.shardOf(c.from), this.routing.shardOf(c.to)]));
    if (shards.size === 1) return this.shards[[...shards][0]].transferBatch(cmds, options);
    return this.cross(cmds, options, true);
  }

  async postTransfer(_cmd: PostPending): Promise<PendingTransfer> {
    throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found (a spread ledger has no pending transfers)');
  }

  async voidTransfer(_cmd: VoidPending): Promise<PendingTransfer> {
    throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found (a spread ledger has no pending transfers)');
  }

  async getTransfer(_id: string): Promise<PendingTransfer> {
    throw accountsError('PENDING_TRANSFER_NOT_FOUND', 'pending transfer not found (a spread ledger has no pending transfers)');
  }

  /** No pending transfers on a spread ledger (see above): always empty. */
  async listPending(): Promise<PendingTransfer[]> {
    return [];
  }

  /** The escrow recovery sweep (one pass, `limit` per bucket). Expired pending transfers do not exist here. */
  async sweepExpired(limit = 100): Promise<SweepResult> {
    await this.sweepEscrow(limit);
    return { expired: [] };
  }

  /** The sweep with its report (tests, operators). */
  async sweepEscrow(limit = 100): Promise<SweepReport | undefined> {
    return this.sweeper?.sweep(limit);
  }

  private cross(cmds: readonly Transfer[], options: WriteOptions | undefined, batch: boolean): Promise<TransferReceipt[]> {
    if (!this.coordinator) {
      throw new AtomicError('CROSS_SHARD_UNSUPPORTED', `the ${this.strategy} strategy does not run cross-shard transfers: use functions, ` +
        'or keep both accounts on one shard', { strategy: this.strategy });
    }
    const call = idempotentCall(this.routing.ledger, options?.idempotencyKey, batch ? requestOf.batch(cmds) : requestOf.transfer(cmds[0]),
      { ttlSeconds: this.limits.idempotencyTtlSeconds });
    return this.coordinator.run(cmds, call, batch);
  }

  private refusePending(cmds: readonly Transfer[]): void {
    if (cmds.some((c) => c.pending)) {
      throw new AtomicError('CROSS_SHARD_UNSUPPORTED', 'pending (two-phase) transfers are not offered on a spread ledger', { strategy: this.strategy });
    }
  }

  private on(id: string): AccountsLedger {
    return this.shards[this.routing.shardOf(id)];
  }
}
