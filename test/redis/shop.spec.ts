import type Redis from 'ioredis';
import { RedisServer } from '@kernel/testing';
import type { OrderKeys } from '../../src/shop/orders/keys';
import { shopFixture, ShopFixture } from '../support/shop-fixture';

/**
 * The shop's Redis-specific behaviour, for both Redis strategies: data our writes could not apply to is refused
 * with STORE_CORRUPTED before anything is written (Redis has no rollback: a failing command inside EXEC or a
 * function does not undo the ones before it), and the Lua libraries come back after the server loses them.
 */
const REDIS_STRATEGIES = ['functions', 'transactions'] as const;

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(REDIS_STRATEGIES)('shop on Redis — %s', (strategy) => {
  let fixture: ShopFixture;
  let client: Redis;
  let keys: OrderKeys;
  beforeEach(async () => {
    fixture = await shopFixture(strategy, server);
    ({ client, keys } = fixture as Required<ShopFixture>);
    await fixture.inventory.setStock('p1', 10);
    await fixture.orders.place({ id: 'o1', userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 5 }] });
  });
  afterEach(() => fixture.close());

  const line = { productId: 'p1', quantity: 1, unitPrice: 1 };

  /** Corrupts the data with `damage`, then expects `operation` to fail with STORE_CORRUPTED and change nothing. */
  async function expectCorruptedUnchanged(damage: () => Promise<unknown>, operation: () => Promise<unknown>) {
    await damage();
    const before = await fixture.rawSnapshot!();
    await expect(operation()).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    expect(await fixture.rawSnapshot!()).toEqual(before);
  }

  it.each([
    ['the pending queue is not a list', () => client.set(keys.pending(), 'x')],
    ["the user's order set is not a set", () => client.del(keys.userOrders('u2')).then(() => client.set(keys.userOrders('u2'), 'x'))],
    ["the user's stats are not integers", () => client.hset(keys.userStats('u2'), 'totalSpent', '1.5')],
    ['a stock is not an integer', () => client.zadd(keys.stock(), 2.5, 'p2')],
    ['a stock is negative', () => client.zadd(keys.stock(), -1, 'p2')],
  ])('place refuses when %s, before writing anything', async (_, damage) => {
    await client.zadd(keys.stock(), 10, 'p2');
    await expectCorruptedUnchanged(damage, () => fixture.orders.place({ userId: 'u2', items: [line, { ...line, productId: 'p2' }] }));
  });

  it('place refuses when the stock is not a sorted set; so do the inventory operations', async () => {
    await expectCorruptedUnchanged(() => client.del(keys.stock()).then(() => client.set(keys.stock(), 'x')),
      () => fixture.orders.place({ userId: 'u2', items: [line] }));
    await expect(fixture.inventory.setStock('p1', 1)).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await expect(fixture.inventory.restock('p1', 1)).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await expect(fixture.inventory.get('p1')).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await expect(fixture.inventory.lowStock(5)).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
  });

  it('cancel refuses when the pending queue is not a list, or the order is not ours', async () => {
    await expectCorruptedUnchanged(() => client.rename(keys.pending(), 'elsewhere').then(() => client.set(keys.pending(), 'x')),
      () => fixture.orders.cancel('o1'));
    await expectCorruptedUnchanged(() => client.hset(keys.order('o1'), 'status', 'lost'), () => fixture.orders.cancel('o1'));
    await expect(fixture.orders.get('o1')).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
  });

  it('cancel refuses when the order\'s lines are not what we write', async () => {
    await expectCorruptedUnchanged(() => client.hset(keys.order('o1'), 'items', '[{"productId":"p1","quantity":0}]'),
      () => fixture.orders.cancel('o1'));
  });

  it('claim and complete refuse when the processing list is not a list', async () => {
    await expectCorruptedUnchanged(() => client.set(keys.processing(), 'x'), () => fixture.orders.claimNext());
    await client.del(keys.processing());
    await fixture.orders.claimNext();
    await expectCorruptedUnchanged(() => client.rename(keys.processing(), 'elsewhere2').then(() => client.set(keys.processing(), 'x')),
      () => fixture.orders.complete('o1'));
  });

  it('claim refuses a queued order that is not pending', async () => {
    await expectCorruptedUnchanged(() => client.hset(keys.order('o1'), 'status', 'completed'), () => fixture.orders.claimNext());
  });

  if (strategy === 'functions') {
    it('reloads both libraries after the server lost them (FUNCTION FLUSH), and the next calls succeed', async () => {
      await client.function('FLUSH');
      await expect(fixture.inventory.restock('p1', 1)).resolves.toEqual({ productId: 'p1', stock: 10 });
      await expect(fixture.orders.claimNext()).resolves.toMatchObject({ id: 'o1', status: 'processing' });
      const libraries = (await client.function('LIST')) as unknown[][];
      expect(libraries.map((library) => library[1]).sort()).toEqual(['inventory', 'orders']);
    });
  }
});
