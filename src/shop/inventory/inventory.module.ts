import { Module } from '@nestjs/common';
import { AtomicStrategy, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, StrategyContext } from '@kernel/nest';
import { shopEventsMaxLen, shopIdempotency } from '../shop-options';
import { memoryShopRecordsName, MemoryInventory, MemoryStock, memoryStockName } from './adapters/memory';
import { RedisFunctionsInventory } from './adapters/redis-functions';
import { RedisTransactionsInventory } from './adapters/redis-transactions';
import { Inventory } from './inventory.port';
import { getInventoryToken } from './inventory.tokens';
import { InventoryController } from './inventory.controller';
import { InventoryKeys } from './keys';
import { ValidatedInventory } from './validated-inventory';

export interface InventoryModuleOptions {
  /** functions: one FCALL per operation · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /**
   * The shop: the hash tag shared by all its keys — Inventory's and Orders' — so the unit of atomicity and of
   * sharding. OrdersModule must be given the same shop. Default `main`.
   */
  shop?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the shop's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<InventoryModuleOptions>({
  moduleName: 'InventoryModule',
  token: getInventoryToken,
  create: createInventory,
  controllers: [InventoryController],
});

/**
 * Binds the Inventory port to the adapter of the chosen strategy, behind the validation gate. The Redis
 * strategies need RedisAtomicModule.forRoot(…) once in the app (it is global); memory needs nothing.
 * Extras: `name` (@InjectInventory(name)), `http` (default: true unnamed, false named), `isGlobal`.
 */
@Module({})
export class InventoryModule extends ConfigurableModuleClass {}

export type InventoryModuleForRootOptions = typeof OPTIONS_TYPE;
export type InventoryModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** The one switch from strategy to adapter. */
async function createInventory(options: InventoryModuleOptions, { memory, redis }: StrategyContext): Promise<Inventory> {
  const shop = options.shop ?? 'main';
  const idempotency = shopIdempotency('InventoryModule', options.idempotencyTtlSeconds);
  const eventsMaxLen = shopEventsMaxLen('InventoryModule', options.eventsMaxLen);
  if (options.strategy === 'memory') {
    const stock = memory.get(memoryStockName(shop), () => new MemoryStock());
    const records = memory.get(memoryShopRecordsName(shop), () => new MemoryIdempotency());
    return new ValidatedInventory(new MemoryInventory(stock, records, shop, idempotency, memoryEventLog(memory, shop), eventsMaxLen));
  }
  const kernel = redis();
  const keys = new InventoryKeys(new KeySpace(kernel.keyPrefix, shop));
  if (options.strategy === 'functions') {
    const library = kernel.libraries.get('inventory');
    await library.prepare(kernel.options.loadFunctions !== false);
    return new ValidatedInventory(new RedisFunctionsInventory(library, keys, idempotency, eventsMaxLen));
  }
  return new ValidatedInventory(new RedisTransactionsInventory(kernel.client, kernel.watch, keys, idempotency, eventsMaxLen));
}
