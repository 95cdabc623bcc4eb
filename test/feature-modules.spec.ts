/**
 * The feature-module recipe as host apps use it: named instances side by side, options from useClass /
 * useExisting / useFactory, isGlobal, routes only where asked — and the memory strategy in a @nestjs/testing
 * module with no Redis anywhere (the README's testing recipe).
 */
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigurableModuleOptionsFactory } from '@nestjs/common';
import { REDIS_CLIENT, RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AccountsModule, AccountsModuleOptions } from '../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../src/accounts/accounts.port';
import { getLedgersToken, getLedgerToken, InjectLedger } from '../src/accounts/accounts.tokens';
import { KvModule } from '../src/kv/kv.module';
import { getKvStoreToken } from '../src/kv/kv.tokens';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { getInventoryToken } from '../src/shop/inventory/inventory.tokens';
import { OrdersModule } from '../src/shop/orders/orders.module';
import { getOrdersToken, InjectOrders } from '../src/shop/orders/orders.tokens';
import type { Orders } from '../src/shop/orders/orders.port';
import type { Inventory } from '../src/shop/inventory/inventory.port';

/** A host service, as in the README: it depends on the port only, never on a strategy. */
@Injectable()
class Checkout {
  constructor(@InjectLedger() private readonly ledger: AccountsLedger, @InjectLedger('payroll') private readonly payroll: AccountsLedger) {}

  async pay(from: string, to: string, amount: number) {
    return this.ledger.transfer({ from, to, amount });
  }

  salary(id: string) {
    return this.payroll.get(id);
  }
}

describe('feature modules in a host app', () => {
  it('memory strategy under @nestjs/testing: no Redis module, no client, the same port (the README recipe)', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        AccountsModule.forRoot({ strategy: 'memory' }),
        AccountsModule.forRoot({ strategy: 'memory', name: 'payroll', ledger: 'payroll' }),
      ],
      providers: [Checkout],
    }).compile();
    const ledger = moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER);
    await ledger.open({ id: 'alice', balance: 100 });
    await ledger.open({ id: 'bob' });
    const payroll = moduleRef.get<AccountsLedger>(getLedgerToken('payroll'));
    await payroll.open({ id: 'alice', balance: 5000 });
    const checkout = moduleRef.get(Checkout);
    await expect(checkout.pay('alice', 'bob', 30)).resolves.toMatchObject({ from: { id: 'alice', balance: 70 }, to: { id: 'bob', balance: 30 } });
    await expect(checkout.pay('alice', 'bob', 71)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(checkout.salary('alice')).resolves.toMatchObject({ balance: 5000 });
    expect(() => moduleRef.get(REDIS_CLIENT, { strict: false })).toThrow();
    await moduleRef.close();
  });

  it('refuses a named instance that asks to mount routes (they would answer for the other instance)', async () => {
    expect(() => AccountsModule.forRoot({ strategy: 'memory', name: 'payroll', http: true }))
      .toThrow('AccountsModule "payroll": a named instance cannot mount the HTTP routes');
  });

  it('refuses two instances under one token instead of letting one silently win', async () => {
    const twice = (name?: string) => Test.createTestingModule({
      imports: [AccountsModule.forRoot({ strategy: 'memory', name, http: false }), AccountsModule.forRoot({ strategy: 'memory', name, ledger: 'other', http: false })],
    }).compile();
    await expect(twice()).rejects.toThrow('AccountsModule: two instances without a name in one app');
    await expect(twice('payroll')).rejects.toThrow('AccountsModule: two instances named "payroll" in one app');
  });

  it('mounts routes only for the unnamed instance by default, and not at all with http: false', () => {
    // the plain routes and the shard routes (/ledgers/:ledger/accounts, /ledgers/:ledger/transfers)
    expect(AccountsModule.forRoot({ strategy: 'memory' }).controllers?.length).toBe(4);
    expect(AccountsModule.forRoot({ strategy: 'memory', http: false }).controllers).toEqual([]);
    expect(AccountsModule.forRoot({ strategy: 'memory', name: 'n' }).controllers).toEqual([]);
    expect(AccountsModule.forRoot({ strategy: 'memory', name: 'n' }).exports).toEqual([getLedgerToken('n'), getLedgersToken('n')]);
  });

  it('gives every module the same recipe: named tokens for inventory, orders and kv too', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        InventoryModule.forRoot({ strategy: 'memory', name: 'eu', shop: 'eu' }),
        OrdersModule.forRoot({ strategy: 'memory', name: 'eu', shop: 'eu' }),
        InventoryModule.forRoot({ strategy: 'memory', name: 'us', shop: 'us' }),
        KvModule.forRoot({ strategy: 'memory', name: 'flags', namespace: 'flags' }),
      ],
    }).compile();
    await moduleRef.get<Inventory>(getInventoryToken('eu')).setStock('p1', 2);
    await moduleRef.get<Inventory>(getInventoryToken('us')).setStock('p1', 9);
    const orders = moduleRef.get<Orders>(getOrdersToken('eu'));
    await orders.place({ id: 'o1', userId: 'u', items: [{ productId: 'p1', quantity: 2, unitPrice: 1 }] });
    // The eu orders took the eu shop's stock (one shop, one shard); the us shop is another shard.
    await expect(moduleRef.get<Inventory>(getInventoryToken('eu')).get('p1')).resolves.toMatchObject({ stock: 0 });
    await expect(moduleRef.get<Inventory>(getInventoryToken('us')).get('p1')).resolves.toMatchObject({ stock: 9 });
    expect(moduleRef.get(getKvStoreToken('flags'))).toBeDefined();
    await moduleRef.close();
  });

  describe('options from providers', () => {
    let server: RedisServer;
    beforeAll(async () => (server = await RedisServer.start()));
    afterAll(() => server.stop());

    @Injectable()
    class LedgerSettings implements ConfigurableModuleOptionsFactory<AccountsModuleOptions, 'create'> {
      create(): AccountsModuleOptions {
        return { strategy: 'functions', ledger: 'from-class' };
      }
    }

    @Module({ providers: [LedgerSettings], exports: [LedgerSettings] })
    class SettingsModule {}

    it('useClass and useExisting, each a named instance on its own shard, in one app', async () => {
      const moduleRef = await Test.createTestingModule({
        imports: [
          RedisAtomicModule.forRoot({ url: server.url }),
          AccountsModule.forRootAsync({ name: 'a', useClass: LedgerSettings }),
          AccountsModule.forRootAsync({ name: 'b', imports: [SettingsModule], useExisting: LedgerSettings }),
        ],
      }).compile();
      await moduleRef.init();
      await moduleRef.get<AccountsLedger>(getLedgerToken('a')).open({ id: 'x', balance: 1 });
      // Same options, so the same ledger (shard): b sees a's account.
      await expect(moduleRef.get<AccountsLedger>(getLedgerToken('b')).get('x')).resolves.toMatchObject({ balance: 1 });
      expect(await server.client().hgetall('ra:{from-class}:acct:x')).toEqual({ b: '1', m: '0' });
      await moduleRef.close();
    });

    it('isGlobal exports the port app-wide: a sibling module injects it without importing', async () => {
      @Injectable()
      class Consumer {
        constructor(@InjectOrders('g') readonly orders: Orders) {}
      }
      @Module({ providers: [Consumer], exports: [Consumer] })
      class Sibling {}
      const moduleRef = await Test.createTestingModule({
        imports: [OrdersModule.forRoot({ strategy: 'memory', name: 'g', isGlobal: true }), Sibling],
      }).compile();
      expect(moduleRef.get(Consumer).orders).toBe(moduleRef.get(getOrdersToken('g')));
      await moduleRef.close();
    });
  });
});
