import { DynamicModule, InjectionToken, Module, ModuleMetadata } from '@nestjs/common';
import { DEFAULT_EVENTS_MAXLEN, IdempotencyOptions, KeySpace, memoryEventLog, MemoryIdempotency } from '../../libs/redis-atomic/src';
import { AtomicStrategy, MemoryStoresModule, StrategyContext, strategyProvider } from '../../libs/redis-atomic/src/strategy';
import { memoryShopRecordsName, MemoryInventory, MemoryStock, memoryStockName } from './adapters/memory';
import { RedisFunctionsInventory } from './adapters/redis-functions';
import { RedisTransactionsInventory } from './adapters/redis-transactions';
import { INVENTORY, Inventory } from './inventory.port';
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

export interface InventoryModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...deps: any[]) => InventoryModuleOptions | Promise<InventoryModuleOptions>;
  inject?: InjectionToken[];
  /** Mount the HTTP routes (decided at import time, since routes are static). Default true. */
  http?: boolean;
}

const INVENTORY_OPTIONS = Symbol('INVENTORY_OPTIONS');

/**
 * Binds the INVENTORY port to the adapter of the chosen strategy, behind the validation gate. The Redis
 * strategies need RedisAtomicModule.forRoot(…) imported once in the app (it is global); memory needs nothing.
 */
@Module({})
export class InventoryModule {
  static forRoot({ http, ...options }: InventoryModuleOptions & { http?: boolean }): DynamicModule {
    return InventoryModule.forRootAsync({ http, useFactory: () => options });
  }

  static forRootAsync({ imports = [], useFactory, inject = [], http = true }: InventoryModuleAsyncOptions): DynamicModule {
    return {
      module: InventoryModule,
      imports: [MemoryStoresModule, ...imports],
      providers: [
        { provide: INVENTORY_OPTIONS, useFactory, inject },
        strategyProvider(INVENTORY, INVENTORY_OPTIONS, 'InventoryModule', createInventory),
      ],
      controllers: http ? [InventoryController] : [],
      exports: [INVENTORY],
    };
  }
}

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

/** The records' TTL option of a shop module (Inventory's and Orders'): an integer, since it becomes `SET … EX`. */
export function shopIdempotency(moduleName: string, ttlSeconds = 86_400): IdempotencyOptions {
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1) {
    throw new Error(`${moduleName} idempotencyTtlSeconds must be an integer >= 1 (got ${String(ttlSeconds)})`);
  }
  return { ttlSeconds };
}

/** The event log cap of a shop module (Inventory's and Orders'): an integer >= 1, since it becomes `MAXLEN ~`. */
export function shopEventsMaxLen(moduleName: string, maxLen = DEFAULT_EVENTS_MAXLEN): number {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new Error(`${moduleName} eventsMaxLen must be an integer >= 1 (got ${String(maxLen)})`);
  }
  return maxLen;
}
