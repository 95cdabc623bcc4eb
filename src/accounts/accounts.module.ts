import { DynamicModule, InjectionToken, Module, ModuleMetadata } from '@nestjs/common';
import { DEFAULT_EVENTS_MAXLEN, KeySpace, memoryEventLog } from '../../libs/redis-atomic/src';
import { AtomicStrategy, MemoryStoresModule, StrategyContext, strategyProvider } from '../../libs/redis-atomic/src/strategy';
import { ACCOUNTS_LEDGER, AccountsLedger } from './accounts.port';
import { AccountsController } from './accounts.controller';
import { MemoryAccountsLedger } from './adapters/memory';
import { RedisFunctionsAccountsLedger } from './adapters/redis-functions';
import { RedisTransactionsAccountsLedger } from './adapters/redis-transactions';
import { AccountKeys } from './keys';
import { LedgerLimits } from './ledger-rules';
import { TransfersController } from './transfers.controller';
import { ValidatedLedger } from './validated-ledger';

export { ATOMIC_STRATEGIES } from '../../libs/redis-atomic/src/strategy';
export type { AtomicStrategy } from '../../libs/redis-atomic/src/strategy';

export interface AccountsModuleOptions {
  /** functions: one FCALL per operation · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /** The ledger: the hash tag shared by all its keys, so the unit of atomicity and of sharding. Default `main`. */
  ledger?: string;
  /** Largest transferBatch. Default 1000 (measured far below Redis' 5 s busy threshold: see README). */
  maxBatch?: number;
  /** History entries kept per account (older ones are trimmed). Default 1000. */
  historyLimit?: number;
  /** How long idempotency records are kept, in seconds. Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the ledger's event log (`XADD … MAXLEN ~`: approximate, at least this many kept). Default 100000. */
  eventsMaxLen?: number;
}

export interface AccountsModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...deps: any[]) => AccountsModuleOptions | Promise<AccountsModuleOptions>;
  inject?: InjectionToken[];
  /** Mount the HTTP routes (decided at import time, since routes are static). Default true. */
  http?: boolean;
}

const ACCOUNTS_OPTIONS = Symbol('ACCOUNTS_OPTIONS');

/**
 * Binds the ACCOUNTS_LEDGER port to the adapter of the chosen strategy, behind the validation gate.
 * The Redis strategies need RedisAtomicModule.forRoot(…) imported once in the app (it is global); memory
 * needs nothing. `http: false` gives just the port, for apps that bring their own routes.
 */
@Module({})
export class AccountsModule {
  static forRoot({ http, ...options }: AccountsModuleOptions & { http?: boolean }): DynamicModule {
    return AccountsModule.forRootAsync({ http, useFactory: () => options });
  }

  static forRootAsync({ imports = [], useFactory, inject = [], http = true }: AccountsModuleAsyncOptions): DynamicModule {
    return {
      module: AccountsModule,
      imports: [...imports, MemoryStoresModule],
      providers: [
        { provide: ACCOUNTS_OPTIONS, useFactory, inject },
        strategyProvider(ACCOUNTS_LEDGER, ACCOUNTS_OPTIONS, 'AccountsModule', createLedger),
      ],
      controllers: http ? [AccountsController, TransfersController] : [],
      exports: [ACCOUNTS_LEDGER],
    };
  }
}

/** The one switch from strategy to adapter (the strategy check and kernel lookup are strategyProvider's). */
async function createLedger(options: AccountsModuleOptions, { memory, redis }: StrategyContext): Promise<AccountsLedger> {
  const limits: LedgerLimits = {
    maxBatch: options.maxBatch ?? 1000,
    historyLimit: options.historyLimit ?? 1000,
    idempotencyTtlSeconds: options.idempotencyTtlSeconds ?? 86_400,
    eventsMaxLen: options.eventsMaxLen ?? DEFAULT_EVENTS_MAXLEN,
  };
  // Lua's unpack() takes at most ~8000 values: one account's entries of one batch must stay below that.
  if (!(limits.maxBatch >= 1 && limits.maxBatch <= 2000)) throw new Error('AccountsModule maxBatch must be 1..2000');
  if (!(limits.historyLimit >= 1) || !(limits.idempotencyTtlSeconds >= 1) || !Number.isSafeInteger(limits.eventsMaxLen) ||
    !(limits.eventsMaxLen >= 1)) {
    throw new Error('AccountsModule historyLimit, idempotencyTtlSeconds and eventsMaxLen must be >= 1');
  }
  const ledger = options.ledger ?? 'main';
  if (options.strategy === 'memory') {
    return new ValidatedLedger(new MemoryAccountsLedger(limits, ledger, memoryEventLog(memory, ledger)), limits);
  }
  const { client, watch, libraries, options: redisOptions, keyPrefix } = redis();
  const keys = new AccountKeys(new KeySpace(keyPrefix, ledger));
  if (options.strategy === 'functions') {
    const library = libraries.get('accounts');
    await library.prepare(redisOptions.loadFunctions !== false);
    return new ValidatedLedger(new RedisFunctionsAccountsLedger(library, keys, limits), limits);
  }
  return new ValidatedLedger(new RedisTransactionsAccountsLedger(client, watch, keys, limits), limits);
}
