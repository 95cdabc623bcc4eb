import type { AtomicStrategy } from '@kernel/core';
import { memoryEventLog } from '@kernel/memory';
import type { StrategyContext } from '@kernel/nest';
import type { AccountsLedger } from '../accounts.port';
import type { LedgerLimits } from '../ledger-rules';
import { createSpread } from './create-spread';

/** AccountsModule's `spread` option: the spread ledger of the module's strategy (libraries loaded first). */
export async function createSpreadAdapter(
  options: { strategy: AtomicStrategy; spread?: number; escrowTimeoutMs?: number;
    escrowGraceMs?: number },
  ledger: string, limits: LedgerLimits, { memory, redis }: StrategyContext,
): Promise<AccountsLedger> {
  const spread = { spread: options.spread!, timeoutMs: options.escrowTimeoutMs, graceMs: options.escrowGraceMs };
  if (options.strategy === 'memory') {
    return createSpread('memory', ledger, limits, spread, { memoryLog: (tag) => memoryEventLog(memory, tag) }).ledger;
  }
  const { client, watch, libraries, options: redisOptions, keyPrefix } = redis();
  if (options.strategy === 'functions') {
    const accounts = libraries.get('accounts');
    const escrow = libraries.get('escrow');
    await accounts.prepare(redisOptions.loadFunctions !== false);
    await escrow.prepare(redisOptions.loadFunctions !== false);
    return createSpread('functions', ledger, limits, spread, { redis: { client, watch, keyPrefix, accounts, escrow } }).ledger;
  }
  return createSpread('transactions', ledger, limits, spread, { redis: { client, watch, keyPrefix } }).ledger;
}
