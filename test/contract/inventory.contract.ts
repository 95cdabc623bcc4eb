import { randomBytes } from 'node:crypto';
import { isReplayed } from '@kernel/core';
import type { Inventory } from '../../src/shop/inventory/inventory.port';
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
    return { levels: await inventory.lowStock(MAX, 1000), raw: await fixture.rawSnapshot?.(), events: await fixture.events() };
  }

  async function expectRejectedUnchanged(operation: () => Promise<unknown>, code: string, details?: object) {
    const before = await snapshot();
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details: expect.objectContaining(details) }) });
    expect(await snapshot()).toEqual(before);
  }

  describe('event log', () => {
    it('setStock appends stock.set, restock appends stock.restocked with the level after it; failures and replays nothing', async () => {
      await inventory.setStock('p1', MAX - 5);
      await inventory.restock('p1', 5, { idempotencyKey: 'k1' });
      await inventory.restock('p1', 5, { idempotencyKey: 'k1' }); // replayed
      await expect(inventory.restock('p1', 1)).rejects.toMatchObject({ code: 'STOCK_LIMIT_EXCEEDED' });
      await expect(inventory.restock('nope', 1)).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
      await expect(inventory.setStock('p1', -1)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      const events = await fixture.events();
      expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
        { type: 'stock.set', data: { productId: 'p1', stock: MAX - 5 } },
        { type: 'stock.restocked', data: { productId: 'p1', quantity: 5, stock: MAX } },
      ]);
      expect(events[0].id).toMatch(/^\d+-\d+$/);
    });
  });

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

  describe('idempotency keys', () => {
    /** Any printable ASCII is a key; unique per call so tests never share one. */
    const key = () => `key ${randomBytes(4).toString('hex')} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`;
    const k = (idempotencyKey: string) => ({ idempotencyKey });

    it('setStock: a retry replays the first result and writes nothing, even after the stock moved on', async () => {
      const key1 = key();
      const first = await inventory.setStock('p1', 5, k(key1));
      expect(first).toEqual({ productId: 'p1', stock: 5 });
      expect(isReplayed(first)).toBe(false);
      await inventory.setStock('p1', 9); // another writer, without a key
      const after = await snapshot();
      const again = await inventory.setStock('p1', 5, k(key1));
      expect(again).toEqual(first);
      expect(isReplayed(again)).toBe(true);
      expect(await snapshot()).toEqual(after); // still 9: the retry was not a second effect
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 9 });
    });

    it('restock: a retry replays the first result and adds nothing', async () => {
      await inventory.setStock('p1', 5);
      const key1 = key();
      const first = await inventory.restock('p1', 7, k(key1));
      expect(first).toEqual({ productId: 'p1', stock: 12 });
      expect(isReplayed(first)).toBe(false);
      const after = await snapshot();
      for (let retry = 0; retry < 3; retry++) {
        const again = await inventory.restock('p1', 7, k(key1));
        expect(again).toEqual(first);
        expect(isReplayed(again)).toBe(true);
      }
      expect(await snapshot()).toEqual(after);
      await expect(inventory.restock('p1', 7)).resolves.toEqual({ productId: 'p1', stock: 19 }); // the control: no key, a second effect
    });

    it('refuses the same key with a different request (other quantity, product or operation), writing nothing', async () => {
      await inventory.setStock('p1', 5);
      await inventory.setStock('p2', 5);
      const key1 = key();
      await inventory.restock('p1', 7, k(key1));
      for (const other of [
        () => inventory.restock('p1', 8, k(key1)),
        () => inventory.restock('p2', 7, k(key1)),
        () => inventory.setStock('p1', 7, k(key1)),
      ]) {
        await expectRejectedUnchanged(other, 'IDEMPOTENCY_KEY_MISMATCH');
      }
      await expect(inventory.restock('p1', 7, k(key1))).resolves.toEqual({ productId: 'p1', stock: 12 }); // still the first
    });

    it('stores and replays a business rejection (PRODUCT_NOT_FOUND, STOCK_LIMIT_EXCEEDED), even once it would succeed', async () => {
      const [ghostKey, limitKey] = [key(), key()];
      const ghost = await inventory.restock('ghost', 5, k(ghostKey)).catch((e) => e);
      expect(ghost).toMatchObject({ code: 'PRODUCT_NOT_FOUND', replayed: false, details: { productId: 'ghost' } });
      await inventory.setStock('ghost', 1); // now it would pass…
      const replayed = await inventory.restock('ghost', 5, k(ghostKey)).catch((e) => e);
      expect(replayed).toMatchObject({ code: 'PRODUCT_NOT_FOUND', replayed: true, message: ghost.message, details: ghost.details });
      await expect(inventory.get('ghost')).resolves.toEqual({ productId: 'ghost', stock: 1 }); // …but the key keeps its outcome

      await inventory.setStock('big', MAX);
      const limit = await inventory.restock('big', 1, k(limitKey)).catch((e) => e);
      expect(limit).toMatchObject({ code: 'STOCK_LIMIT_EXCEEDED', replayed: false, details: { productId: 'big', stock: MAX, quantity: 1 } });
      await inventory.setStock('big', 0);
      const before = await snapshot();
      await expect(inventory.restock('big', 1, k(limitKey))).rejects
        .toMatchObject({ code: 'STOCK_LIMIT_EXCEEDED', replayed: true, details: limit.details });
      expect(await snapshot()).toEqual(before);
    });

    it('does not store validation failures: the key stays free for the corrected request', async () => {
      await inventory.setStock('p1', 5);
      const key1 = key();
      await expectRejectedUnchanged(() => inventory.restock('p1', 0, k(key1)), 'VALIDATION_FAILED');
      await expectRejectedUnchanged(() => inventory.setStock('p:1', 3, k(key1)), 'VALIDATION_FAILED');
      const corrected = await inventory.restock('p1', 1, k(key1));
      expect(corrected).toEqual({ productId: 'p1', stock: 6 });
      expect(isReplayed(corrected)).toBe(false);
    });

    it.each([
      ['empty', ''], ['256 characters', 'x'.repeat(256)], ['non-ASCII', 'café'], ['a newline', 'a\nb'], ['a tab', 'tab\there'],
      ['not a string', 42 as unknown as string],
    ])('refuses a key that is %s, writing nothing', async (_, bad) => {
      await inventory.setStock('p1', 5);
      await expectRejectedUnchanged(() => inventory.restock('p1', 1, k(bad)), 'VALIDATION_FAILED', { field: 'idempotencyKey' });
      await expectRejectedUnchanged(() => inventory.setStock('p1', 1, k(bad)), 'VALIDATION_FAILED', { field: 'idempotencyKey' });
    });

    it('applies ten concurrent restocks with one key exactly once; the others replay it', async () => {
      await inventory.setStock('p1', 5);
      const key1 = key();
      const outcomes = await Promise.all(Array.from({ length: 10 }, () => inventory.restock('p1', 3, k(key1)).catch((e) => e)));
      const levels = outcomes.filter((o) => !(o instanceof Error));
      expect(outcomes.filter((o) => o instanceof Error).every((e) => (e as { code?: string }).code === 'IDEMPOTENCY_KEY_IN_PROGRESS')).toBe(true);
      for (const level of levels) expect(level).toEqual({ productId: 'p1', stock: 8 });
      expect(levels.filter((level) => !isReplayed(level))).toHaveLength(1);
      await expect(inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 8 });
    });

    it('keeps the record in the shop\'s hash slot with the default TTL (Redis)', async () => {
      if (!fixture.client) return;
      await inventory.setStock('p1', 5, k(key()));
      const records = await fixture.client.keys(`ra:{${fixture.shop}}:shop-idem:*`);
      expect(records).toEqual([expect.stringMatching(/:shop-idem:[0-9a-f]{40}$/)]);
      const ttl = await fixture.client.ttl(records[0]);
      expect(ttl).toBeGreaterThan(86_400 - 5);
      expect(ttl).toBeLessThanOrEqual(86_400);
    });
  });
}
