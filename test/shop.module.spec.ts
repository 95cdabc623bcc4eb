import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AtomicStrategy } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { INVENTORY, Inventory } from '../src/shop/inventory/inventory.port';
import { OrdersModule } from '../src/shop/orders/orders.module';
import { ORDERS, Orders } from '../src/shop/orders/orders.port';

@Injectable()
class Settings {
  strategy: AtomicStrategy = 'functions';
  shop = 'async-shop';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

async function memoryShop(shopOfOrders = 'main') {
  const moduleRef = await Test.createTestingModule({
    imports: [InventoryModule.forRoot({ strategy: 'memory', http: false }), OrdersModule.forRoot({ strategy: 'memory', shop: shopOfOrders, http: false })],
  }).compile();
  await moduleRef.init();
  return { moduleRef, inventory: moduleRef.get<Inventory>(INVENTORY), orders: moduleRef.get<Orders>(ORDERS) };
}

describe('InventoryModule / OrdersModule wiring', () => {
  let server: RedisServer;
  beforeAll(async () => (server = await RedisServer.start()));
  afterAll(() => server.stop());

  it('take their options from other providers with forRootAsync, and share the shop\'s hash tag', async () => {
    const options = { imports: [SettingsModule], inject: [Settings], useFactory: (s: Settings) => ({ strategy: s.strategy, shop: s.shop }), http: false };
    const moduleRef = await Test.createTestingModule({
      imports: [
        RedisAtomicModule.forRootAsync({ useFactory: async () => ({ url: server.url }) }),
        InventoryModule.forRootAsync(options),
        OrdersModule.forRootAsync(options),
      ],
    }).compile();
    await moduleRef.init();
    await moduleRef.get<Inventory>(INVENTORY).setStock('w1', 3);
    await moduleRef.get<Orders>(ORDERS).place({ id: 'o1', userId: 'u1', items: [{ productId: 'w1', quantity: 1, unitPrice: 9 }] });
    const client = server.client();
    expect(await client.zscore('ra:{async-shop}:inventory:stock', 'w1')).toBe('2');
    const keys = (await client.keys('*')).sort();
    expect(keys).toEqual(['ra:{async-shop}:events', 'ra:{async-shop}:inventory:stock', 'ra:{async-shop}:order:o1', 'ra:{async-shop}:queue:pending',
      'ra:{async-shop}:user-orders:u1', 'ra:{async-shop}:user-stats:u1']); // one hash tag: one slot in a cluster
    await moduleRef.close();
  });

  it('memory: orders take the stock of the inventory of the same shop, and of no other app', async () => {
    const a = await memoryShop();
    const b = await memoryShop();
    await a.inventory.setStock('p1', 5);
    await a.orders.place({ userId: 'u1', items: [{ productId: 'p1', quantity: 2, unitPrice: 1 }] });
    await expect(a.inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 3 });
    await expect(b.inventory.get('p1')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' }); // another app: another store
    await Promise.all([a.moduleRef.close(), b.moduleRef.close()]);
  });

  it('memory: orders of another shop do not see this inventory (as with another hash tag in Redis)', async () => {
    const shop = await memoryShop('elsewhere');
    await shop.inventory.setStock('p1', 5);
    await expect(shop.orders.place({ userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 1 }] }))
      .rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    await shop.moduleRef.close();
  });

  it.each([
    ['InventoryModule', () => InventoryModule.forRoot({ strategy: 'functions', http: false })],
    ['OrdersModule', () => OrdersModule.forRoot({ strategy: 'transactions', http: false })],
  ])('%s says clearly that a Redis strategy needs RedisAtomicModule', async (name, module) => {
    await expect(Test.createTestingModule({ imports: [module()] }).compile()).rejects.toThrow(`${name} strategy "`);
    await expect(Test.createTestingModule({ imports: [module()] }).compile()).rejects.toThrow('needs RedisAtomicModule.forRoot');
  });

  it.each([
    () => InventoryModule.forRoot({ strategy: 'lua' as AtomicStrategy, http: false }),
    () => OrdersModule.forRoot({ strategy: 'lua' as AtomicStrategy, http: false }),
  ])('refuses an unknown strategy', async (module) => {
    await expect(Test.createTestingModule({ imports: [module()] }).compile()).rejects.toThrow('Unknown strategy "lua"');
  });

  it.each(['inventory', 'orders'])('with loadFunctions: false, only verifies the %s library', async (library) => {
    const admin = server.client();
    await admin.function('FLUSH');
    const redis = { url: server.url, loadFunctions: false, redis: { retryStrategy: () => null } };
    const module = library === 'inventory'
      ? InventoryModule.forRoot({ strategy: 'functions', http: false })
      : OrdersModule.forRoot({ strategy: 'functions', http: false });
    await expect(Test.createTestingModule({ imports: [RedisAtomicModule.forRoot(redis), module] }).compile())
      .rejects.toThrow(new RegExp(`holds version none.*deploy it with: redis-atomic functions load`));
    expect(await admin.function('LIST')).toEqual([]);
  });
});
