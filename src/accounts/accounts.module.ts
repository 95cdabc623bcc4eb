import { DynamicModule, Module, Provider } from '@nestjs/common';
import type Redis from 'ioredis';
import {
  FunctionLibraries, KeySpace, REDIS_ATOMIC_OPTIONS, REDIS_CLIENT, RedisAtomicOptions, WatchRunner,
} from '../../libs/redis-atomic/src';
import { ACCOUNTS_LEDGER } from './accounts.port';
import { AccountsController } from './accounts.controller';
import { MemoryAccountsLedger } from './adapters/memory';
import { RedisFunctionsAccountsLedger } from './adapters/redis-functions';
import { RedisTransactionsAccountsLedger } from './adapters/redis-transactions';
import { AccountKeys } from './keys';
import { LedgerLimits } from './ledger-rules';
import { TransfersController } from './transfers.controller';
import { ValidatedLedger } from './validated-ledger';

export type AtomicStrategy = 'functions' | 'transactions' | 'memory';
export const ATOMIC_STRATEGIES: readonly AtomicStrategy[] = ['functions', 'transactions', 'memory'];

export interface AccountsModuleOptions {
  /** functions: one FCALL per operation · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /** The ledger: the hash tag shared by all its keys, so the unit of atomicity and of sharding. Default `main`. */
  ledger?: string;
  /** Mount the HTTP routes. Default true; false gives just the ACCOUNTS_LEDGER port. */
  http?: boolean;
  /** Largest transferBatch. Default 1000 (measured far below Redis' 5 s busy threshold: see README). */
  maxBatch?: number;
  /** History entries kept per account (older ones are trimmed). Default 1000. */
  historyLimit?: number;
}

/**
 * Binds the ACCOUNTS_LEDGER port to the adapter of the chosen strategy, behind the validation gate.
 * The Redis strategies need RedisAtomicModule.forRoot(…) imported once in the app (it is global).
 */
@Module({})
export class AccountsModule {
  static forRoot(options: AccountsModuleOptions): DynamicModule {
    const limits: LedgerLimits = { maxBatch: options.maxBatch ?? 1000, historyLimit: options.historyLimit ?? 1000 };
    const keys = (redisOptions: RedisAtomicOptions) =>
      new AccountKeys(new KeySpace(redisOptions.keyPrefix ?? 'ra', options.ledger ?? 'main'));
    const providers: Record<AtomicStrategy, Provider> = {
      memory: { provide: ACCOUNTS_LEDGER, useFactory: () => new ValidatedLedger(new MemoryAccountsLedger(limits), limits) },
      functions: {
        provide: ACCOUNTS_LEDGER,
        inject: [FunctionLibraries, REDIS_ATOMIC_OPTIONS],
        useFactory: async (libraries: FunctionLibraries, redisOptions: RedisAtomicOptions) => {
          const library = libraries.get('accounts');
          await library.load();
          return new ValidatedLedger(new RedisFunctionsAccountsLedger(library, keys(redisOptions), limits), limits);
        },
      },
      transactions: {
        provide: ACCOUNTS_LEDGER,
        inject: [REDIS_CLIENT, WatchRunner, REDIS_ATOMIC_OPTIONS],
        useFactory: (client: Redis, watch: WatchRunner, redisOptions: RedisAtomicOptions) =>
          new ValidatedLedger(new RedisTransactionsAccountsLedger(client, watch, keys(redisOptions), limits), limits),
      },
    };
    const provider = providers[options.strategy];
    if (!provider) throw new Error(`Unknown strategy "${options.strategy}": use one of ${ATOMIC_STRATEGIES.join(', ')}`);
    return {
      module: AccountsModule,
      providers: [provider],
      controllers: options.http === false ? [] : [AccountsController, TransfersController],
      exports: [ACCOUNTS_LEDGER],
    };
  }
}
