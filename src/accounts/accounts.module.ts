import { Logger, Module } from '@nestjs/common';
import { AtomicStrategy, DEFAULT_EVENTS_MAXLEN, KeySpace } from '@kernel/core';
import { memoryEventLog } from '@kernel/memory';
import { featureModule, StrategyContext } from '@kernel/nest';
import { AccountsLedger } from './accounts.port';
import { getLedgerToken } from './accounts.tokens';
import { AccountsController } from './accounts.controller';
import { MemoryAccountsLedger } from './adapters/memory';
import { RedisFunctionsAccountsLedger } from './adapters/redis-functions';
import { RedisTransactionsAccountsLedger } from './adapters/redis-transactions';
import { AccountKeys } from './keys';
import { LedgerLimits } from './ledger-rules';
import { TransfersController } from './transfers.controller';
import { ValidatedLedger } from './validated-ledger';
import { ExpirySweeper } from './expiry-sweeper';
import { createSpreadAdapter } from './spread/spread-module';

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
  /**
   * Release expired pending transfers every this many ms (an ExpirySweeper on this instance, stopped with the
   * module). Default: off (call `sweepExpired` yourself); the service turns it on (PENDING_SWEEP_MS, 1000).
   */
  sweepIntervalMs?: number;
  /** Expiries per sweepExpired call of the sweeper (1..1000). Default 100. */
  sweepBatch?: number;
  /**
   * Spread the ledger over this many shards (1..64; hash tags `<ledger>-x<k>`): transfers across shards run the
   * escrow protocol (src/accounts/spread/, README "Cross-shard transfers"); the sweeper timer also finishes what
   * crashed coordinators left. Default: one shard, the ledger's own tag (no spread).
   */
  spread?: number;
  /** Spread ledgers: how long a cross-shard transaction may stay undecided (ms, default 5000) and the sweeper's grace (default 2000). */
  escrowTimeoutMs?: number;
  escrowGraceMs?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<AccountsModuleOptions>({
  moduleName: 'AccountsModule',
  token: getLedgerToken,
  create: createLedger,
  controllers: [AccountsController, TransfersController],
});

/**
 * Binds the AccountsLedger port to the adapter of the chosen strategy, behind the validation gate.
 *
 *   AccountsModule.forRoot({ strategy: 'functions' })                        // @InjectLedger(), routes mounted
 *   AccountsModule.forRoot({ name: 'payroll', ledger: 'payroll', strategy })  // @InjectLedger('payroll'), no routes
 *   AccountsModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ … }) })  // or useClass / useExisting
 *
 * The Redis strategies need RedisAtomicModule.forRoot(…) once in the app (it is global); memory needs nothing.
 * Extras: `name`, `http` (default: true unnamed, false named), `isGlobal`.
 */
@Module({})
export class AccountsModule extends ConfigurableModuleClass {}

export type AccountsModuleForRootOptions = typeof OPTIONS_TYPE;
export type AccountsModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

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
  const { sweepIntervalMs, sweepBatch = 100 } = options;
  if (sweepIntervalMs !== undefined && !(Number.isSafeInteger(sweepIntervalMs) && sweepIntervalMs >= 0)) {
    throw new Error('AccountsModule sweepIntervalMs must be an integer >= 0 (0 = off)');
  }
  if (!(Number.isInteger(sweepBatch) && sweepBatch >= 1 && sweepBatch <= 1000)) throw new Error('AccountsModule sweepBatch must be 1..1000');
  const ledger = await createAdapter(options, limits, { memory, redis });
  if (!sweepIntervalMs) return ledger;
  const logger = new Logger('AccountsModule');
  const sweeper = new ExpirySweeper(ledger, sweepIntervalMs, sweepBatch, 10,
    (err) => logger.warn(`expiry sweep failed (next tick retries): ${(err as Error).message}`));
  sweeper.start();
  // Nest calls onModuleDestroy on provider values that have one: the sweeper stops with the module.
  return Object.assign(ledger, { onModuleDestroy: () => sweeper.stop() });
}

async function createAdapter(options: AccountsModuleOptions, limits: LedgerLimits, { memory, redis }: StrategyContext):
  Promise<ValidatedLedger> {
  const ledger = options.ledger ?? 'main';
  if (options.spread !== undefined) return new ValidatedLedger(await createSpreadAdapter(options, ledger, limits, { memory, redis }), limits);
  if (options.strategy === 'memory') {
    return new ValidatedLedger(new MemoryAccountsLedger(limits, ledger, memoryEventLog(memory, ledger)), limits);
  }
  const { client, watch, libraries, options: redisOptions, keyPrefix } = redis();
  const keys = new AccountKeys(new KeySpace(keyPrefix, ledger));
  if (options.strategy === 'functions') {
    const library = libraries.get('accounts');
    await library.prepare(redisOptions.loadFunctions !== false);
    return new ValidatedLedger(new RedisFunctionsAccountsLedger(library, keys, limits, client), limits);
  }
  return new ValidatedLedger(new RedisTransactionsAccountsLedger(client, watch, keys, limits), limits);
}
