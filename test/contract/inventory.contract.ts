import type { Inventory } from '../../src/inventory/inventory.port';
import type { ShopFixture } from '../support/shop-fixture';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The Inventory contract: one suite, run against every adapter (memory, functions, transactions). A caller
 * must not be able to tell the adapters apart except by speed. Each test gets a fresh shop.
 */
export function inventoryContract(makeFixture: () => Promise<ShopFixture>): void {
  let fixture: ShopFixture;
  let inventory: Inventory;

  beforeEach(async () => {
    fixture = await makeFixture();
    inventory = fixture.inventory;
  });
  afterEach(() => fixture.close());

  /** Everything observable through the port, plus the raw keyspace for Redis. */
  async function snapshot(): Promise<unknown> {
    return { levels: await inventory.lowStock(MAX, 1000), raw: await fixture.rawSnapshot?.() };
  }

  async function expectRejectedUnchanged(operation: () => Promise<unknown>, code: string, details?: object) {
    const before = await snapshot();
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details: expect.objectContaining(details) }) });
    expect(await snapshot()).toEqual(before);
  }

  describe('setStock / get', () => {
    it('creates a product, then overwrites its stock', async () => {
      await expect(inventory.setStock('p1', 50)).resolves.toEqual({ productId: 'p1', stock: 50 });
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 50 });
      await expect(inventory.setStock('p1', 0)).resolves.toEqual({ productId: 'p1', stock: 0 });
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 0 });
    });

    it('keeps stock up to the largest safe integer exactly', async () => {
      await inventory.setStock('big', MAX);
      await expect(inventory.get('big')).resolves.toEqual({ productId: 'big', stock: MAX });
      await inventory.setStock('big2', MAX - 1);
      await expect(inventory.get('big2')).resolves.toEqual({ productId: 'big2', stock: MAX - 1 });
    });

    it('says PRODUCT_NOT_FOUND for an unknown product', async () => {
      await expect(inventory.get('nope')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND', details: { productId: 'nope' } });
    });

    it.each([
      ['a bad id', 'a:b', 1],
      ['an id with a hash tag', 'a{b}', 1],
      ['a 65-character id', 'x'.repeat(65), 1],
      ['a negative stock', 'ok', -1],
      ['a fractional stock', 'ok', 1.5],
      ['an unsafe stock', 'ok', MAX + 1],
      ['a string stock', 'ok', '10' as unknown as number],
      ['a NaN stock', 'ok', NaN],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, id, stock) => {
      await expectRejectedUnchanged(() => inventory.setStock(id, stock), 'VALIDATION_FAILED');
      await expect(inventory.get('ok')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    });
  });

  describe('restock', () => {
    it('adds to the stock and returns the new level', async () => {
      await inventory.setStock('p1', 5);
      await expect(inventory.restock('p1', 7)).resolves.toEqual({ productId: 'p1', stock: 12 });
      await expect(inventory.restock('p1', 1)).resolves.toEqual({ productId: 'p1', stock: 13 });
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 13 });
    });

    it('says PRODUCT_NOT_FOUND for an unknown product and creates nothing', async () => {
      await inventory.setStock('other', 1);
      await expectRejectedUnchanged(() => inventory.restock('nope', 5), 'PRODUCT_NOT_FOUND', { productId: 'nope' });
      await expect(inventory.get('nope')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    });

    it('restocks up to the largest safe integer exactly, and not one unit more', async () => {
      await inventory.setStock('p1', MAX - 3);
      await expectRejectedUnchanged(() => inventory.restock('p1', 4), 'STOCK_LIMIT_EXCEEDED', { productId: 'p1', stock: MAX - 3, quantity: 4 });
      await expect(inventory.restock('p1', 3)).resolves.toEqual({ productId: 'p1', stock: MAX });
      await expectRejectedUnchanged(() => inventory.restock('p1', 1), 'STOCK_LIMIT_EXCEEDED');
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: MAX });
    });

    it.each([0, -5, 1.5, MAX + 1, 1e21, NaN, '5' as unknown as number, null as unknown as number])(
      'refuses the quantity %p with VALIDATION_FAILED', async (quantity) => {
        await inventory.setStock('p1', 10);
        await expectRejectedUnchanged(() => inventory.restock('p1', quantity), 'VALIDATION_FAILED');
      });
  });

  describe('lowStock', () => {
    beforeEach(async () => {
      for (const [id, stock] of [['d', 3], ['a', 10], ['c', 3], ['b', 0], ['e', 11], ['f', MAX]] as const) {
        await inventory.setStock(id, stock);
      }
    });

    it('lists products strictly below the threshold, lowest first, ties by id', async () => {
      await expect(inventory.lowStock(11)).resolves.toEqual([
        { productId: 'b', stock: 0 }, { productId: 'c', stock: 3 }, { productId: 'd', stock: 3 }, { productId: 'a', stock: 10 },
      ]);
      await expect(inventory.lowStock(10)).resolves.toEqual([
        { productId: 'b', stock: 0 }, { productId: 'c', stock: 3 }, { productId: 'd', stock: 3 },
      ]);
      await expect(inventory.lowStock(1)).resolves.toEqual([{ productId: 'b', stock: 0 }]);
      await expect(inventory.lowStock(0)).resolves.toEqual([]);
    });

    it('returns at most `limit` products', async () => {
      await expect(inventory.lowStock(100, 2)).resolves.toEqual([{ productId: 'b', stock: 0 }, { productId: 'c', stock: 3 }]);
      await expect(inventory.lowStock(100, 1)).resolves.toEqual([{ productId: 'b', stock: 0 }]);
    });

    it('includes stock just below the largest safe integer, exactly', async () => {
      await inventory.setStock('g', MAX - 1);
      const levels = await inventory.lowStock(MAX, 1000);
      expect(levels.slice(-2)).toEqual([{ productId: 'e', stock: 11 }, { productId: 'g', stock: MAX - 1 }]);
      expect(levels.some((level) => level.productId === 'f')).toBe(false);
    });

    it('follows restocks', async () => {
      await inventory.restock('b', 20);
      await expect(inventory.lowStock(11)).resolves.toEqual([
        { productId: 'c', stock: 3 }, { productId: 'd', stock: 3 }, { productId: 'a', stock: 10 },
      ]);
    });

    it.each([
      [-1, 10], [1.5, 10], [MAX + 1, 10], [NaN, 10], [10, 0], [10, 1001], [10, 2.5], [10, NaN],
    ])('refuses below=%p limit=%p with VALIDATION_FAILED', async (below, limit) => {
      await expect(inventory.lowStock(below, limit)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });
}
