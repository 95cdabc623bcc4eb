import { Logger, Module } from '@nestjs/common';
import { AtomicStrategy, DEFAULT_EVENTS_MAXLEN, KeySpace } from '@kernel/core';
import { memoryEventLog } from '@kernel/memory';
import { featureModule, ShardedOptions, ShardFactory, StrategyContext } from '@kernel/nest';
import { AccountsLedger } from './accounts.port';
import { getLedgersToken, getLedgerToken } from './accounts.tokens';
import { AccountsController, LedgerAccountsController } from './accounts.controller';
import { MemoryAccountsLedger } from './adapters/memory';
import { RedisFunctionsAccountsLedger } from './adapters/redis-functions';
import { RedisTransactionsAccountsLedger } from './adapters/redis-transactions';
import { AccountKeys } from './keys';
import { LedgerLimits } from './ledger-rules';
import { LedgerTransfersController, TransfersController } from './transfers.controller';
import { ValidatedLedger } from './validated-ledger';
import { ExpirySweeper } from './expiry-sweeper';
import { spreadFactory } from './spread/adapters/create-spread';

export interface AccountsModuleOptions extends ShardedOptions {
  /** functions: one FCALL per operation · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /**
   * The default ledger (the plain routes, @InjectLedger()): a ledger is the hash tag shared by all its keys, so
   * the unit of atomicity and of sharding. Default `main`. Any other ledger: @InjectLedgers(), /ledgers/:ledger/….
   */
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
   * Release expired pending transfers every this many ms, in every ledger this instance serves or lists (an
   * ExpirySweeper from application bootstrap until the module is destroyed). Default: off (call `sweepExpired`
   * yourself); the service turns it on (PENDING_SWEEP_MS, 1000).
   */
  sweepIntervalMs?: number;
  /** Expiries per sweepExpired call of the sweeper (1..1000). Default 100. */
  sweepBatch?: number;
  /**
   * Spread every ledger of the module over this many shards (1..64; hash tags `<ledger>-x<k>`): transfers across shards run the
   * escrow protocol (src/accounts/spread/, README "Cross-shard transfers"); the sweeper timer also finishes what
   * crashed coordinators left. Default: one shard, the ledger's own tag (no spread).
   */
  spread?: number;
  /** Spread ledgers: how long a cross-shard transaction may stay undecided (ms, default 5000) and the sweeper's grace (default 2000). */
  escrowTimeoutMs?: number;
  escrowGraceMs?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<AccountsModuleOptions, AccountsLedger>({
  moduleName: 'AccountsModule',
  shardField: 'ledger',
  token: getLedgerToken,
  directoryToken: getLedgersToken,
  create: createLedgers,
  controllers: [AccountsController, TransfersController, LedgerAccountsController, LedgerTransfersController],
});

/**
 * Binds the AccountsLedger port to the adapter of the chosen strategy, behind the validation gate.
 *
 *   AccountsModule.forRoot({ strategy: 'functions' })                        // @InjectLedger(), routes mounted
 *   AccountsModule.forRoot({ name: 'payroll', ledger: 'payroll', strategy })  // @InjectLedger('payroll'), no routes
 *   @InjectLedgers() ledgers: Ledgers → ledgers.shard('eu')                   // any ledger by name (/ledgers/:ledger/…)
 *   AccountsModule.forRootAsync({ inject: [ConfigService], useFactory: (c) => ({ … }) })  // or useClass / useExisting
 *
 * The Redis strategies need RedisAtomicModule.forRoot(…) once in the app (it is global); memory needs nothing.
 * Extras: `name`, `http` (default: true unnamed, false named), `isGlobal`.
 */
@Module({})
export class AccountsModule extends ConfigurableModuleClass {}

export type AccountsModuleForRootOptions = typeof OPTIONS_TYPE;
export type AccountsModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** Checks the options once; then the one switch from strategy to adapter, per ledger. */
async function createLedgers(options: AccountsModuleOptions, { memory, redis }: StrategyContext): Promise<ShardFactory<AccountsLedger>> {
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
  const shard = options.spread !== undefined
    ? await spreadFactory(options, limits, { memory, redis })
    : await adapterFactory(options.strategy, limits, { memory, redis });
  const logger = new Logger('AccountsModule');
  return {
    defaultShard: options.ledger ?? 'main',
    shard: (ledger) => new ValidatedLedger(shard(ledger), limits),
    stateless: options.strategy !== 'memory',
    // Every ledger this instance serves (and every listed one) is swept; the sweeper stops with the module.
    background: sweepIntervalMs ? (ledgers) => new ExpirySweeper(ledgers, sweepIntervalMs, sweepBatch, 10,
      (err, ledger) => logger.warn(`expiry sweep of ledger ${ledger} failed (next run retries): ${(err as Error).message}`)) : undefined,
  };
}

async function adapterFactory(strategy: AtomicStrategy, limits: LedgerLimits, { memory, redis }: Omit<StrategyContext, 'observe'>):
  Promise<(ledger: string) => AccountsLedger> {
  if (strategy === 'memory') return (ledger) => new MemoryAccountsLedger(limits, ledger, memoryEventLog(memory, ledger));
  const { client, watch, libraries, options: redisOptions, keyPrefix } = redis();
  const keys = (ledger: string) => new AccountKeys(new KeySpace(keyPrefix, ledger));
  if (strategy === 'functions') {
    const library = libraries.get('accounts');
    await library.prepare(redisOptions.loadFunctions !== false);
    return (ledger) => new RedisFunctionsAccountsLedger(library, keys(ledger), limits, client);
  }
  return (ledger) => new RedisTransactionsAccountsLedger(client, watch, keys(ledger), limits);
}
