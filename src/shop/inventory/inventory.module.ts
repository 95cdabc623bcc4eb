import { Logger, Module } from '@nestjs/common';
import { AtomicStrategy, IdempotencyOptions, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, ShardedOptions, ShardFactory, StrategyContext } from '@kernel/nest';
import { shopEventsMaxLen, shopIdempotency } from '../shop-options';
import { memoryShopRecordsName, MemoryInventory, MemoryStock, memoryStockName } from './adapters/memory';
import { RedisFunctionsInventory } from './adapters/redis-functions';
import { RedisTransactionsInventory } from './adapters/redis-transactions';
import { Inventory } from './inventory.port';
import { ReservationSweeper, ReservationSweepOptions } from './reservation-sweeper';
import { getInventoryShopsToken, getInventoryToken } from './inventory.tokens';
import { InventoryController, ShopInventoryController } from './inventory.controller';
import { InventoryKeys } from './keys';
import { ValidatedInventory } from './validated-inventory';

export interface InventoryModuleOptions extends ShardedOptions {
  /** functions: one FCALL per operation · transactions: MULTI / WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /**
   * The default shop (the plain routes, @InjectInventory()): a shop is the hash tag shared by all its keys —
   * Inventory's and Orders' — so the unit of atomicity and of sharding. OrdersModule must be given the same shop.
   * Default `main`. Any other shop: @InjectInventoryShops(), /shops/:shop/….
   */
  shop?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the shop's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
  /**
   * Opt-in: expire lapsed stock reservations in the background (`expireDue` every `intervalMs`, in batches of
   * `batch`), from application bootstrap until the module is destroyed. Safe on every instance at once.
   * Without it, call `expireDue` yourself: until then a lapsed reservation is refused and shown as expired,
   * but its units stay held.
   */
  reservationSweep?: ReservationSweepOptions;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<InventoryModuleOptions, Inventory>({
  moduleName: 'InventoryModule',
  shardField: 'shop',
  token: getInventoryToken,
  directoryToken: getInventoryShopsToken,
  create: createInventories,
  controllers: [InventoryController, ShopInventoryController],
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

/** Checks the options once; then the one switch from strategy to adapter, per shop, behind the gate. */
async function createInventories(options: InventoryModuleOptions, { memory, redis }: StrategyContext): Promise<ShardFactory<Inventory>> {
  const idempotency = shopIdempotency('InventoryModule', options.idempotencyTtlSeconds);
  const eventsMaxLen = shopEventsMaxLen('InventoryModule', options.eventsMaxLen);
  const sweep = options.reservationSweep;
  const logger = new Logger('InventoryModule');
  const adapter = await adapterFactory(options.strategy, idempotency, eventsMaxLen, { memory, redis });
  return {
    defaultShard: options.shop ?? 'main',
    shard: (shop) => new ValidatedInventory(adapter(shop)),
    stateless: options.strategy !== 'memory',
    // Every shop this instance serves (and every listed one) is swept; the sweeper stops with the module.
    background: sweep && ((shops) => new ReservationSweeper(shops, sweep,
      (err, shop) => logger.warn(`reservation sweep of shop ${shop} failed: ${(err as Error).message}`))),
  };
}

async function adapterFactory(strategy: AtomicStrategy, idempotency: IdempotencyOptions, eventsMaxLen: number,
  { memory, redis }: Omit<StrategyContext, 'observe'>): Promise<(shop: string) => Inventory> {
  if (strategy === 'memory') {
    return (shop) => new MemoryInventory(memory.get(memoryStockName(shop), () => new MemoryStock()),
      memory.get(memoryShopRecordsName(shop), () => new MemoryIdempotency()), shop, idempotency, memoryEventLog(memory, shop), eventsMaxLen);
  }
  const kernel = redis();
  const keys = (shop: string) => new InventoryKeys(new KeySpace(kernel.keyPrefix, shop));
  if (strategy === 'functions') {
    const library = kernel.libraries.get('inventory');
    await library.prepare(kernel.options.loadFunctions !== false);
    return (shop) => new RedisFunctionsInventory(library, keys(shop), idempotency, eventsMaxLen, kernel.client);
  }
  return (shop) => new RedisTransactionsInventory(kernel.client, kernel.watch, keys(shop), idempotency, eventsMaxLen);
}
