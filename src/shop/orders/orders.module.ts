import { Module } from '@nestjs/common';
import { AtomicStrategy, KeySpace } from '@kernel/core';
import { memoryEventLog, MemoryIdempotency } from '@kernel/memory';
import { featureModule, StrategyContext } from '@kernel/nest';
import { memoryShopRecordsName, MemoryStock, memoryStockName } from '../inventory/adapters/memory';
import { shopEventsMaxLen, shopIdempotency } from '../shop-options';
import { MemoryOrderBook, memoryOrderBookName, MemoryOrders } from './adapters/memory';
import { RedisFunctionsOrders } from './adapters/redis-functions';
import { RedisTransactionsOrders } from './adapters/redis-transactions';
import { OrderKeys } from './keys';
import { OrdersController, UsersController } from './orders.controller';
import { Orders } from './orders.port';
import { getOrdersToken } from './orders.tokens';
import { ValidatedOrders } from './validated-orders';

export interface OrdersModuleOptions {
  /** functions: one FCALL per change · transactions: WATCH+MULTI · memory: in-process, no Redis. */
  strategy: AtomicStrategy;
  /** The shop — the same as InventoryModule's: orders take stock from that shop's inventory. Default `main`. */
  shop?: string;
  /** How long idempotency records are kept, in seconds (an integer >= 1). Default 86400. */
  idempotencyTtlSeconds?: number;
  /** The cap of the shop's event log (`XADD … MAXLEN ~`: approximate). Default 100000. */
  eventsMaxLen?: number;
}

const { ConfigurableModuleClass, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } = featureModule<OrdersModuleOptions>({
  moduleName: 'OrdersModule',
  token: getOrdersToken,
  create: createOrders,
  controllers: [OrdersController, UsersController],
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

/** The one switch from strategy to adapter. */
async function createOrders(options: OrdersModuleOptions, { memory, redis }: StrategyContext): Promise<Orders> {
  const shop = options.shop ?? 'main';
  const idempotency = shopIdempotency('OrdersModule', options.idempotencyTtlSeconds);
  const eventsMaxLen = shopEventsMaxLen('OrdersModule', options.eventsMaxLen);
  if (options.strategy === 'memory') {
    const stock = memory.get(memoryStockName(shop), () => new MemoryStock());
    const book = memory.get(memoryOrderBookName(shop), () => new MemoryOrderBook());
    const records = memory.get(memoryShopRecordsName(shop), () => new MemoryIdempotency());
    return new ValidatedOrders(new MemoryOrders(stock, book, records, shop, idempotency, memoryEventLog(memory, shop), eventsMaxLen));
  }
  const kernel = redis();
  const keys = new OrderKeys(new KeySpace(kernel.keyPrefix, shop));
  if (options.strategy === 'functions') {
    const library = kernel.libraries.get('orders');
    await library.prepare(kernel.options.loadFunctions !== false);
    return new ValidatedOrders(new RedisFunctionsOrders(library, keys, idempotency, eventsMaxLen));
  }
  return new ValidatedOrders(new RedisTransactionsOrders(kernel.client, kernel.watch, keys, idempotency, eventsMaxLen));
}
