import { Module } from '@nestjs/common';
import { AtomicStrategy, IdempotencyOptions, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, ShardedOptions, ShardFactory, StrategyContext } from '@kernel/nest';
import { memoryShopRecordsName, MemoryStock, memoryStockName } from '../inventory/adapters/memory';
import { shopEventsMaxLen, shopIdempotency } from '../shop-options';
import { MemoryOrderBook, memoryOrderBookName, MemoryOrders } from './adapters/memory';
import { RedisFunctionsOrders } from './adapters/redis-functions';
import { RedisTransactionsOrders } from './adapters/redis-transactions';
import { OrderKeys } from './keys';
import { OrdersController, ShopOrdersController, ShopUsersController, UsersController } from './orders.controller';
import { Orders } from './orders.port';
import { getOrdersShopsToken, getOrdersToken } from './orders.tokens';
import { ValidatedOrders } from './validated-orders';

export interface OrdersModuleOptions extends ShardedOptions {
  /** functions: one FCALL per change · transactions: WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /**
   * The default shop — the same as InventoryModule's: orders take stock from that shop's inventory. Default `main`.
   * Any other shop: @InjectOrdersShops(), /shops/:shop/….
   */
  shop?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the shop's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<OrdersModuleOptions, Orders>({
  moduleName: 'OrdersModule',
  shardField: 'shop',
  token: getOrdersToken,
  directoryToken: getOrdersShopsToken,
  create: createOrders,
  controllers: [OrdersController, UsersController, ShopOrdersController, ShopUsersController],
});

/**
 * Binds the Orders port to the adapter of the chosen strategy, behind the validation gate. Orders act on the
 * stock of InventoryModule's shop: in Redis through Inventory's key schema (same hash tag), in memory through
 * the same MemoryStock (MemoryStores, one per app). The Redis strategies need RedisAtomicModule.forRoot(…).
 * Extras: `name` (@InjectOrders(name)), `http` (default: true unnamed, false named), `isGlobal`.
 */
@Module({})
export class OrdersModule extends ConfigurableModuleClass {}

export type OrdersModuleForRootOptions = typeof OPTIONS_TYPE;
export type OrdersModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;

/** Checks the options once; then the one switch from strategy to adapter, per shop, behind the gate. */
async function createOrders(options: OrdersModuleOptions, { memory, redis }: StrategyContext): Promise<ShardFactory<Orders>> {
  const idempotency = shopIdempotency('OrdersModule', options.idempotencyTtlSeconds);
  const eventsMaxLen = shopEventsMaxLen('OrdersModule', options.eventsMaxLen);
  const adapter = await adapterFactory(options.strategy, idempotency, eventsMaxLen, { memory, redis });
  return { defaultShard: options.shop ?? 'main', shard: (shop) => new ValidatedOrders(adapter(shop)), stateless: options.strategy !== 'memory' };
}

async function adapterFactory(strategy: AtomicStrategy, idempotency: IdempotencyOptions, eventsMaxLen: number,
  { memory, redis }: Omit<StrategyContext, 'observe'>): Promise<(shop: string) => Orders> {
  if (strategy === 'memory') {
    return (shop) => new MemoryOrders(memory.get(memoryStockName(shop), () => new MemoryStock()),
      memory.get(memoryOrderBookName(shop), () => new MemoryOrderBook()), memory.get(memoryShopRecordsName(shop), () => new MemoryIdempotency()),
      shop, idempotency, memoryEventLog(memory, shop), eventsMaxLen);
  }
  const kernel = redis();
  const keys = (shop: string) => new OrderKeys(new KeySpace(kernel.keyPrefix, shop));
  if (strategy === 'functions') {
    const library = kernel.libraries.get('orders');
    await library.prepare(kernel.options.loadFunctions !== false);
    return (shop) => new RedisFunctionsOrders(library, keys(shop), idempotency, eventsMaxLen);
  }
  return (shop) => new RedisTransactionsOrders(kernel.client, kernel.watch, keys(shop), idempotency, eventsMaxLen);
}
