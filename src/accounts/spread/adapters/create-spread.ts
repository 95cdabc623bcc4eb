import { AtomicStrategy, KeySpace } from '@kernel/core';
import { MemoryEventLog, memoryEventLog } from '@kernel/memory';
import type { StrategyContext } from '@kernel/nest';
import type { FunctionLibrary, RedisClient, WatchRunner } from '@kernel/redis';
import type { AccountsLedger } from '../../accounts.port';
import { MemoryAccountsLedger } from '../../adapters/memory';
import { RedisFunctionsAccountsLedger } from '../../adapters/redis-functions';
import { RedisTransactionsAccountsLedger } from '../../adapters/redis-transactions';
import { AccountKeys } from '../../keys';
import type { LedgerLimits } from '../../ledger-rules';
import { Coordinator, CoordinatorOptions } from '../coordinator';
import type { EscrowStore } from '../escrow.port';
import { MemoryEscrowStore } from './memory-escrow';
import { RedisEscrowStore } from './redis-escrow';
import { SpreadLedger } from '../spread-ledger';
import { SpreadRouting } from '../spread-keys';
import { EscrowSweeper } from '../sweeper';

export interface SpreadOptions {
  /** Shards of the ledger (1..64): each account lives on one, by CRC16 of its id. */
  spread: number;
  /** How long a cross-shard transaction may stay PREPARING (ms, default 5000). */
  timeoutMs?: number;
  /** The sweeper's grace after a deadline or a decision before it takes over (ms, default 2000). */
  graceMs?: number;
  /** Tests only: hooks after each coordinator step (the crash matrix kills it there). */
  hooks?: CoordinatorOptions['hooks'];
}

export interface SpreadParts {
  ledger: SpreadLedger;
  routing: SpreadRouting;
  /** Undefined for the transactions strategy (cross-shard transfers refused). */
  store?: EscrowStore;
  coordinator?: Coordinator;
  sweeper?: EscrowSweeper;
}

export interface SpreadRedis {
  client: RedisClient;
  watch: WatchRunner;
  keyPrefix: string;
  /** The accounts and escrow libraries (functions strategy), prepared by the caller. */
  accounts?: FunctionLibrary;
  escrow?: FunctionLibrary;
}

/** Builds a spread ledger of one strategy: its shards (ordinary adapters, one per tag), and the escrow protocol. */
export function createSpread(strategy: AtomicStrategy, ledger: string, limits: LedgerLimits, options: SpreadOptions,
  backend: { redis?: SpreadRedis; memoryLog?: (shard: string) => MemoryEventLog }): SpreadParts {
  const routing = new SpreadRouting(ledger, options.spread);
  const coordinatorOptions: CoordinatorOptions = { timeoutMs: options.timeoutMs ?? 5000, graceMs: options.graceMs ?? 2000,
    hooks: options.hooks };
  const escrowLimits = { historyLimit: limits.historyLimit, eventsMaxLen: limits.eventsMaxLen, retentionSeconds: limits.idempotencyTtlSeconds };
  let shards: AccountsLedger[];
  let store: EscrowStore | undefined;
  if (strategy === 'memory') {
    const ledgers = routing.tags.map((tag) => new MemoryAccountsLedger(limits, tag, backend.memoryLog!(tag)));
    shards = ledgers;
    store = new MemoryEscrowStore(ledgers);
  } else {
    const redis = backend.redis!;
    const keys = routing.tags.map((tag) => new AccountKeys(new KeySpace(redis.keyPrefix, tag)));
    if (strategy === 'functions') {
      shards = keys.map((k) => new RedisFunctionsAccountsLedger(redis.accounts!, k, limits, redis.client));
      store = new RedisEscrowStore(redis.escrow!, redis.client, redis.keyPrefix, routing, escrowLimits);
    } else {
      // No escrow on the transactions strategy: each step would be a WATCH transaction (possible, not built); until
      // then a cross-shard transfer is refused (CROSS_SHARD_UNSUPPORTED) rather than run without its guarantees.
      shards = keys.map((k) => new RedisTransactionsAccountsLedger(redis.client, redis.watch, k, limits));
    }
  }
  const coordinator = store && new Coordinator(store, routing, coordinatorOptions);
  const sweeper = store && new EscrowSweeper(store, coordinatorOptions.graceMs);
  return { ledger: new SpreadLedger(shards, routing, limits, coordinator, sweeper, strategy), routing, store, coordinator, sweeper };
}

/**
 * AccountsModule's `spread` option: a factory of spread ledgers of the module's strategy, one per ledger name (the
 * libraries are loaded once, first). The module wraps each in its validation gate; its sweeper timer calls
 * `sweepExpired`, which on a spread ledger runs the escrow recovery sweep.
 */
export async function spreadFactory(
  options: { strategy: AtomicStrategy; spread?: number; escrowTimeoutMs?: number; escrowGraceMs?: number },
  limits: LedgerLimits, { memory, redis }: Omit<StrategyContext, 'observe'>,
): Promise<(ledger: string) => AccountsLedger> {
  const spread: SpreadOptions = { spread: options.spread!, timeoutMs: options.escrowTimeoutMs, graceMs: options.escrowGraceMs };
  if (!(Number.isInteger(spread.spread) && spread.spread >= 1 && spread.spread <= 64)) throw new Error('AccountsModule spread must be 1..64');
  if (options.strategy === 'memory') {
    return (ledger) => createSpread('memory', ledger, limits, spread, { memoryLog: (tag) => memoryEventLog(memory, tag) }).ledger;
  }
  const { client, watch, libraries, options: redisOptions, keyPrefix } = redis();
  if (options.strategy === 'functions') {
    const accounts = libraries.get('accounts');
    const escrow = libraries.get('escrow');
    await accounts.prepare(redisOptions.loadFunctions !== false);
    await escrow.prepare(redisOptions.loadFunctions !== false);
    return (ledger) => createSpread('functions', ledger, limits, spread, { redis: { client, watch, keyPrefix, accounts, escrow } }).ledger;
  }
  return (ledger) => createSpread('transactions', ledger, limits, spread, { redis: { client, watch, keyPrefix } }).ledger;
}
