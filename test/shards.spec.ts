import { Test, TestingModule } from '@nestjs/testing';
import { AtomicStrategy, isAtomicError, ShardPorts } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AccountsModule } from '../src/accounts/accounts.module';
import type { AccountsLedger } from '../src/accounts/accounts.port';
import { getLedgersToken, getLedgerToken, Ledgers } from '../src/accounts/accounts.tokens';
import { KvModule } from '../src/kv/kv.module';
import { getKvNamespacesToken, KvNamespaces } from '../src/kv/kv.tokens';
import { InventoryModule } from '../src/shop/inventory/inventory.module';
import { getInventoryShopsToken, InventoryShops } from '../src/shop/inventory/inventory.tokens';
import { OrdersModule } from '../src/shop/orders/orders.module';
import { getOrdersShopsToken, OrdersShops } from '../src/shop/orders/orders.tokens';
import { eventually } from './contract/pending.contract';
import { uniqueIds } from './support/accounts-fixture';

/**
 * Many shards per module instance (issue "Redis Cluster": one service, many ledgers / shops / namespaces): the
 * directory ports (@InjectLedgers() …) give each shard its own port, every shard's keys under its own hash tag,
 * a `shards` list refused beyond, and the background sweepers visiting every shard served or listed.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

const uid = (() => {
  let n = 0;
  return (prefix: string) => `${prefix}-${process.pid}-${++n}`;
})();

async function app(strategy: AtomicStrategy, imports: unknown[]): Promise<TestingModule> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server.url })];
  const moduleRef = await Test.createTestingModule({ imports: [...redis, ...imports] as never[] }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe.each<AtomicStrategy>(['functions', 'transactions', 'memory'])('shard directories — %s', (strategy) => {
  it('ledgers: each shard its own accounts, keys under its own hash tag; the default shard is the single-shard port', async () => {
    const [main, eu, us] = [uid('main'), uid('eu'), uid('us')];
    const moduleRef = await app(strategy, [AccountsModule.forRoot({ strategy, ledger: main, http: false })]);
    try {
      const ledgers = moduleRef.get<Ledgers>(getLedgersToken());
      expect(ledgers.defaultShard).toBe(main);
      expect(ledgers.shard()).toBe(moduleRef.get<AccountsLedger>(getLedgerToken()));
      expect(ledgers.shard(eu)).toBe(ledgers.shard(eu)); // built once, then kept
      await ledgers.shard(eu).open({ id: 'a', balance: 100 });
      await ledgers.shard(eu).open({ id: 'b' });
      await ledgers.shard(us).open({ id: 'a', balance: 7 });
      await ledgers.shard(eu).transfer({ from: 'a', to: 'b', amount: 30 });
      expect(await ledgers.shard(eu).get('a')).toMatchObject({ balance: 70 });
      expect(await ledgers.shard(us).get('a')).toMatchObject({ balance: 7 });
      await expect(ledgers.shard().get('a')).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
      await expect(ledgers.shard(us).transfer({ from: 'a', to: 'b', amount: 1 })).rejects.toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
      if (strategy !== 'memory') {
        const client = server.client();
        try {
          expect(await client.hget(`ra:{${eu}}:acct:a`, 'b')).toBe('70');
          expect(await client.hget(`ra:{${us}}:acct:a`, 'b')).toBe('7');
        } finally {
          client.disconnect();
        }
      }
      expect(ledgers.served()).toEqual(expect.arrayContaining([main, eu, us]));
    } finally {
      await moduleRef.close();
    }
  });

  it('a `shards` list: others are SHARD_NOT_FOUND, bad names VALIDATION_FAILED — before anything is asked of Redis', async () => {
    const [main, listed] = [uid('main'), uid('listed')];
    const moduleRef = await app(strategy, [AccountsModule.forRoot({ strategy, ledger: main, shards: [listed], http: false })]);
    try {
      const ledgers = moduleRef.get<Ledgers>(getLedgersToken());
      await ledgers.shard(listed).open({ id: 'a' });
      await ledgers.shard(main).open({ id: 'a' });
      expect(() => ledgers.shard('elsewhere')).toThrow(expect.objectContaining({ code: 'SHARD_NOT_FOUND', details: { field: 'ledger' } }));
      for (const bad of ['', 'b d', 'x{y}', 'a:b', 'x'.repeat(65), 7 as unknown as string]) {
        let thrown: unknown;
        try {
          ledgers.shard(bad);
        } catch (err) {
          thrown = err;
        }
        expect(isAtomicError(thrown, 'VALIDATION_FAILED')).toBe(true);
      }
    } finally {
      await moduleRef.close();
    }
  });

  it('the expiry sweeper releases lapsed holds on every ledger served, and on listed ones nobody touched', async () => {
    const [main, served, listed] = [uid('main'), uid('served'), uid('listed')];
    const [a, b] = uniqueIds('a', 'b');
    // the hold in `listed` is made by another instance (memory: the same module, before its sweeper exists)
    const holdIn = async (ledger: AccountsLedger) => {
      await ledger.open({ id: a, balance: 100 });
      await ledger.open({ id: b });
      return (await ledger.transfer({ from: a, to: b, amount: 40, pending: true, timeoutSeconds: 1 })).id;
    };
    const other = strategy === 'memory' ? undefined : await app(strategy, [AccountsModule.forRoot({ strategy, ledger: listed, http: false })]);
    const listedHold = other ? await holdIn(other.get<AccountsLedger>(getLedgerToken())) : undefined;
    await other?.close();
    const moduleRef = await app(strategy, [AccountsModule.forRoot({ strategy, ledger: main, shards: [listed, served], sweepIntervalMs: 50, http: false })]);
    try {
      const ledgers = moduleRef.get<Ledgers>(getLedgersToken());
      const servedHold = await holdIn(ledgers.shard(served));
      await eventually(async () => (await ledgers.shard(served).get(a)).pendingDebits === 0, 'the served ledger was swept');
      expect(await ledgers.shard(served).getTransfer(servedHold)).toMatchObject({ status: 'expired' });
      if (listedHold) {
        await eventually(async () => (await ledgers.shard(listed).getTransfer(listedHold)).status === 'expired', 'lapsed');
        await eventually(async () => (await ledgers.shard(listed).get(a)).pendingDebits === 0, 'the listed ledger was swept');
      }
    } finally {
      await moduleRef.close();
    }
  });

  it('shops: inventory and orders of one shop act together, other shops apart; reservations swept per shop', async () => {
    const [main, eu, us] = [uid('main'), uid('eu'), uid('us')];
    const moduleRef = await app(strategy, [
      InventoryModule.forRoot({ strategy, shop: main, http: false, reservationSweep: { intervalMs: 50 } }),
      OrdersModule.forRoot({ strategy, shop: main, http: false }),
    ]);
    try {
      const inventories = moduleRef.get<InventoryShops>(getInventoryShopsToken());
      const orders = moduleRef.get<OrdersShops>(getOrdersShopsToken());
      await inventories.shard(eu).setStock('p', 5);
      await inventories.shard(us).setStock('p', 1);
      await orders.shard(eu).place({ userId: 'u', items: [{ productId: 'p', quantity: 3, unitPrice: 10 }] });
      expect(await inventories.shard(eu).get('p')).toMatchObject({ stock: 2 });
      expect(await inventories.shard(us).get('p')).toMatchObject({ stock: 1 });
      await expect(orders.shard(us).place({ userId: 'u', items: [{ productId: 'p', quantity: 3, unitPrice: 10 }] }))
        .rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
      await expect(inventories.shard().get('p')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
      const r = await inventories.shard(us).reserve('p', 1, 1);
      await eventually(async () => (await inventories.shard(us).availability('p')).held === 0, 'the reservation in shop us was swept');
      expect(await inventories.shard(us).getReservation('p', r.id)).toMatchObject({ status: 'expired' });
    } finally {
      await moduleRef.close();
    }
  });

  it('kv namespaces: one store per namespace', async () => {
    const [main, t1, t2] = [uid('kv'), uid('t1'), uid('t2')];
    const moduleRef = await app(strategy, [KvModule.forRoot({ strategy, namespace: main, http: false })]);
    try {
      const namespaces = moduleRef.get<KvNamespaces>(getKvNamespacesToken());
      await namespaces.shard(t1).transaction({ updates: [{ op: 'set', key: 'k', value: 'one' }] });
      await namespaces.shard(t2).transaction({ conditions: [{ key: 'k', op: 'absent' }], updates: [{ op: 'set', key: 'k', value: 'two' }] });
      expect(await namespaces.shard(t1).get('k')).toMatchObject({ value: 'one' });
      expect(await namespaces.shard(t2).get('k')).toMatchObject({ value: 'two' });
      await expect(namespaces.shard().get('k')).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
    } finally {
      await moduleRef.close();
    }
  });
});

describe('ShardPorts', () => {
  it('keeps at most cacheSize ports, dropping the least recently used (and rebuilding it when asked again)', () => {
    const built: string[] = [];
    const ports = new ShardPorts('d', (name) => (built.push(name), { name }), { field: 'ledger', cacheSize: 2 });
    const d = ports.shard();
    ports.shard('a');
    ports.shard('d'); // d is now the most recent: a goes first
    ports.shard('b');
    expect(ports.shard('d')).toBe(d);
    ports.shard('a');
    expect(built).toEqual(['d', 'a', 'b', 'a']);
  });

  it('without a cacheSize never drops a port (the memory strategy: the port is the data)', () => {
    let built = 0;
    const ports = new ShardPorts('d', () => ({ n: ++built }), { field: 'ledger' });
    const first = ports.shard('s0');
    for (let i = 1; i < 5000; i++) ports.shard(`s${i}`);
    expect(ports.shard('s0')).toBe(first);
    expect(built).toBe(5000);
  });

  it('refuses a bad default or listed name at construction', () => {
    expect(() => new ShardPorts('b d', () => ({}), { field: 'ledger' })).toThrow(/ledger must match/);
    expect(() => new ShardPorts('d', () => ({}), { field: 'shop', allowed: ['ok', 'x:y'] })).toThrow(/shop \(in shards\) must match/);
  });
});
