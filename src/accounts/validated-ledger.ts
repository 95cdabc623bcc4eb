import type {
  Account, AccountsLedger, Balance, HistoryPage, HistoryQuery, Movement, OpenAccount, Transfer, TransferReceipt,
} from './accounts.port';
import { checkBatch, checkHistoryQuery, checkMovement, checkOpen, checkTransfer, LedgerLimits } from './ledger-rules';
import { assertId } from '../../libs/redis-atomic/src';

/**
 * The one gate every adapter sits behind (bound in AccountsModule): input that breaks a rule rejects with
 * VALIDATION_FAILED before any adapter — and so before Redis — sees it. Adapters may assume valid input.
 */
export class ValidatedLedger implements AccountsLedger {
  constructor(private readonly inner: AccountsLedger, private readonly limits: LedgerLimits) {}

  async open(cmd: OpenAccount): Promise<Account> {
    return this.inner.open(checkOpen(cmd));
  }

  async get(id: string): Promise<Account> {
    assertId(id, 'id');
    return this.inner.get(id);
  }

  async deposit(cmd: Movement): Promise<Balance> {
    checkMovement(cmd);
    return this.inner.deposit(cmd);
  }

  async withdraw(cmd: Movement): Promise<Balance> {
    checkMovement(cmd);
    return this.inner.withdraw(cmd);
  }

  async transfer(cmd: Transfer): Promise<TransferReceipt> {
    checkTransfer(cmd);
    return this.inner.transfer(cmd);
  }

  async transferBatch(cmds: readonly Transfer[]): Promise<TransferReceipt[]> {
    checkBatch(cmds, this.limits);
    return this.inner.transferBatch(cmds);
  }

  async history(id: string, query?: HistoryQuery): Promise<HistoryPage> {
    return this.inner.history(id, checkHistoryQuery(id, query));
  }
}
