import { Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AtomicStrategy, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, StrategyContext } from '@kernel/nest';
import { shopEventsMaxLen, shopIdempotency } from '../shop-options';
import { memoryShopRecordsName, MemoryInventory, MemoryStock, memoryStockName } from './adapters/memory';
import { RedisFunctionsInventory } from './adapters/redis-functions';
import { RedisTransactionsInventory } from './adapters/redis-transactions';
import { Inventory } from './inventory.port';
import { ReservationSweeper, ReservationSweepOptions } from './reservation-sweeper';
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
  /**
   * Opt-in: expire lapsed stock reservations in the background (`expireDue` every `intervalMs`, in batches of
   * `batch`), from application bootstrap until the module is destroyed. Safe on every instance at once.
   * Without it, call `expireDue` yourself: until then a lapsed reservation is refused and shown as expired,
   * but its units stay held.
   */
  reservationSweep?: ReservationSweepOptions;
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

/** The gate, with the module's reservation sweeper: started on application bootstrap, stopped (and awaited) on module destroy. */
class SweptInventory extends ValidatedInventory implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly sweeper: ReservationSweeper;

  constructor(inner: Inventory, options: ReservationSweepOptions, shop: string) {
    super(inner);
    const logger = new Logger('InventoryModule');
    this.sweeper = new ReservationSweeper(this, options, (err) => logger.warn(`reservation sweep of shop ${shop} failed: ${(err as Error).message}`));
  }

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.sweeper.stop();
  }
}

/** The one switch from strategy to adapter, behind the gate (with the sweeper when asked for). */
async function createInventory(options: InventoryModuleOptions, context: StrategyContext): Promise<Inventory> {
  const inner = await createAdapter(options, context);
  const shop = options.shop ?? 'main';
  return options.reservationSweep ? new SweptInventory(inner, options.reservationSweep, shop) : new ValidatedInventory(inner);
}

async function createAdapter(options: InventoryModuleOptions, { memory, redis }: StrategyContext): Promise<Inventory> {
  const shop = options.shop ?? 'main';
  const idempotency = shopIdempotency('InventoryModule', options.idempotencyTtlSeconds);
  const eventsMaxLen = shopEventsMaxLen('InventoryModule', options.eventsMaxLen);
  if (options.strategy === 'memory') {
    const stock = memory.get(memoryStockName(shop), () => new MemoryStock());
    const records = memory.get(memoryShopRecordsName(shop), () => new MemoryIdempotency());
    return new MemoryInventory(stock, records, shop, idempotency, memoryEventLog(memory, shop), eventsMaxLen);
  }
  const kernel = redis();
  const keys = new InventoryKeys(new KeySpace(kernel.keyPrefix, shop));
  if (options.strategy === 'functions') {
    const library = kernel.libraries.get('inventory');
    await library.prepare(kernel.options.loadFunctions !== false);
    return new RedisFunctionsInventory(library, keys, idempotency, eventsMaxLen, kernel.client);
  }
  return new RedisTransactionsInventory(kernel.client, kernel.watch, keys, idempotency, eventsMaxLen);
}
