import { randomBytes } from 'node:crypto';
import { ID_PATTERN, isReplayed } from '@kernel/core';
import type { Inventory } from '../../src/shop/inventory/inventory.port';
import type { Order, OrderLine, Orders, PlaceOrder } from '../../src/shop/orders/orders.port';
import type { ShopFixture } from '../support/shop-fixture';

const MAX = Number.MAX_SAFE_INTEGER;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const line = (productId: string, quantity: number, unitPrice: number): OrderLine => ({ productId, quantity, unitPrice });

/**
 * The Orders contract: one suite, run against every adapter (memory, functions, transactions), always together
 * with the Inventory of the same shop (orders take its stock). Each test gets a fresh shop, so the shop-wide
 * queue holds only the test's own orders.
 */
export function ordersContract(makeFixture: () => Promise<ShopFixture>): void {
  let fixture: ShopFixture;
  let orders: Orders;
  let inventory: Inventory;

  beforeEach(async () => {
    fixture = await makeFixture();
    ({ orders, inventory } = fixture);
  });
  afterEach(() => fixture.close());

  const stock = async (productId: string) => (await inventory.get(productId)).stock;
  const stocks = (...ids: string[]) => Promise.all(ids.map(stock));

  /** Everything observable through both ports about these products and users, plus the raw keyspace for Redis. */
  async function snapshot(products: string[], users: string[]): Promise<unknown> {
    return {
      stock: await Promise.all(products.map((id) => inventory.get(id).catch((err) => err.code))),
      users: await Promise.all(users.map(async (id) => [await orders.listByUser(id), await orders.userStats(id)])),
      queue: await orders.queue(),
      raw: await fixture.rawSnapshot?.(),
      events: await fixture.events(),
    };
  }

  /** Asserts the operation fails with `code` (and `details`) and changes nothing at all, anywhere. */
  async function expectRejectedUnchanged(products: string[], users: string[], operation: () => Promise<unknown>,
    code: string, details?: object) {
    const before = await snapshot(products, users);
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details: expect.objectContaining(details) }) });
    expect(await snapshot(products, users)).toEqual(before);
  }

  async function products(levels: Record<string, number>): Promise<void> {
    for (const [id, level] of Object.entries(levels)) await inventory.setStock(id, level);
  }

  describe('event log', () => {
    const types = async () => (await fixture.events()).map(({ type, data }) => ({ type, data }));

    it('place / cancel append order.placed / order.cancelled with every line\'s stock after the change', async () => {
      await products({ p1: 10, p2: 5 });
      const order = await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 3, 7), line('p2', 5, 2)] });
      await orders.cancel(order.id);
      expect((await types()).slice(2)).toEqual([
        { type: 'order.placed', data: { orderId: 'o1', userId: 'u1', total: 31,
          items: [{ productId: 'p1', quantity: 3, stock: 7 }, { productId: 'p2', quantity: 5, stock: 0 }] } },
        { type: 'order.cancelled', data: { orderId: 'o1', userId: 'u1', total: 31,
          items: [{ productId: 'p1', quantity: 3, stock: 10 }, { productId: 'p2', quantity: 5, stock: 5 }] } },
      ]);
    });

    it('claim / complete append order.claimed / order.completed; an empty queue, failures and replays append nothing', async () => {
      await products({ p1: 1 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 4)] }, { idempotencyKey: 'k-place' });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 4)] }, { idempotencyKey: 'k-place' }); // replayed
      await expect(orders.place({ id: 'o2', userId: 'u1', items: [line('p1', 1, 4)] })).rejects.toMatchObject({ code: 'OUT_OF_STOCK' });
      await expect(orders.complete('o1')).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
      await orders.claimNext({ idempotencyKey: 'k-claim' });
      await orders.claimNext({ idempotencyKey: 'k-claim' }); // replayed
      await expect(orders.claimNext()).resolves.toBeNull();
      await expect(orders.cancel('o1')).rejects.toMatchObject({ code: 'ORDER_NOT_CANCELLABLE' });
      await orders.complete('o1');
      await expect(orders.complete('o1')).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
      expect((await types()).slice(1)).toEqual([
        { type: 'order.placed', data: { orderId: 'o1', userId: 'u1', total: 4, items: [{ productId: 'p1', quantity: 1, stock: 0 }] } },
        { type: 'order.claimed', data: { orderId: 'o1', userId: 'u1' } },
        { type: 'order.completed', data: { orderId: 'o1', userId: 'u1' } },
      ]);
    });
  });

  describe('place', () => {
    it('takes the stock of every line, writes the order, the user set and stats, and queues it — in one step', async () => {
      await products({ p1: 10, p2: 5 });
      const before = Date.now();
      const order = await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 3, 250), line('p2', 5, 1000)] });
      expect(order).toEqual({
        id: 'o1', userId: 'u1', items: [line('p1', 3, 250), line('p2', 5, 1000)], total: 5750, status: 'pending', createdAt: expect.stringMatching(ISO),
      });
      expect(Math.abs(Date.parse(order.createdAt) - before)).toBeLessThan(60_000); // a clock, not a constant
      expect(await stocks('p1', 'p2')).toEqual([7, 0]);
      await expect(orders.get('o1')).resolves.toEqual(order);
      await expect(orders.listByUser('u1')).resolves.toEqual([order]);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 1, totalSpent: 5750 });
      await expect(orders.queue()).resolves.toEqual({ pending: ['o1'], processing: [] });
    });

    it('generates an allowlisted, unique id when none is given', async () => {
      await products({ p1: 10 });
      const a = await orders.place({ userId: 'u1', items: [line('p1', 1, 1)] });
      const b = await orders.place({ userId: 'u1', items: [line('p1', 1, 1)] });
      expect(a.id).toMatch(ID_PATTERN);
      expect(b.id).toMatch(ID_PATTERN);
      expect(a.id).not.toBe(b.id);
      await expect(orders.get(a.id)).resolves.toEqual(a);
      expect((await orders.listByUser('u1')).map((o) => o.id).sort()).toEqual([a.id, b.id].sort());
    });

    it('sums stats over several orders, and lists the user\'s orders oldest first', async () => {
      await products({ p1: 100 });
      const placed: Order[] = [];
      for (let i = 1; i <= 4; i++) placed.push(await orders.place({ id: `o${i}`, userId: 'u1', items: [line('p1', i, 10 * i)] }));
      await orders.place({ id: 'other', userId: 'u2', items: [line('p1', 1, 7)] });
      expect((await orders.listByUser('u1')).map((o) => o.id)).toEqual(['o1', 'o2', 'o3', 'o4']);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 4, totalSpent: 10 + 40 + 90 + 160 });
      await expect(orders.userStats('u2')).resolves.toEqual({ userId: 'u2', totalOrders: 1, totalSpent: 7 });
      expect(await stock('p1')).toBe(100 - 10 - 1);
    });

    it('takes the last unit exactly, and refuses one more with OUT_OF_STOCK', async () => {
      await products({ p1: 3 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 3, 1)] });
      expect(await stock('p1')).toBe(0);
      await expectRejectedUnchanged(['p1'], ['u1', 'u2'], () => orders.place({ id: 'o2', userId: 'u2', items: [line('p1', 1, 1)] }),
        'OUT_OF_STOCK', { index: 0, productId: 'p1', requested: 1, available: 0 });
    });

    it('a multi-line order whose LAST line is out of stock changes nothing anywhere', async () => {
      await products({ p1: 10, p2: 10, p3: 2 });
      await orders.place({ id: 'first', userId: 'u1', items: [line('p1', 1, 100)] }); // the user and queue exist
      await expectRejectedUnchanged(['p1', 'p2', 'p3'], ['u1'],
        () => orders.place({ id: 'o2', userId: 'u1', items: [line('p1', 5, 100), line('p2', 10, 100), line('p3', 3, 100)] }),
        'OUT_OF_STOCK', { index: 2, productId: 'p3', requested: 3, available: 2 });
      await expect(orders.get('o2')).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
      expect(await stocks('p1', 'p2', 'p3')).toEqual([9, 10, 2]);
    });

    it('names the first failing line: an unknown product is PRODUCT_NOT_FOUND, and nothing is written', async () => {
      await products({ p1: 10, p2: 0 });
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'],
        () => orders.place({ userId: 'u1', items: [line('p1', 1, 1), line('ghost', 1, 1), line('p2', 1, 1)] }),
        'PRODUCT_NOT_FOUND', { index: 1, productId: 'ghost' });
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'],
        () => orders.place({ userId: 'u1', items: [line('p1', 1, 1), line('p2', 1, 1), line('ghost', 1, 1)] }),
        'OUT_OF_STOCK', { index: 1, productId: 'p2', available: 0 });
      await expect(inventory.get('ghost')).rejects.toMatchObject({ code: 'PRODUCT_NOT_FOUND' });
    });

    it('refuses an id that exists with ORDER_EXISTS, even for another user, and leaves the order as it was', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 5)] });
      await expectRejectedUnchanged(['p1'], ['u1', 'u2'], () => orders.place({ id: 'o1', userId: 'u2', items: [line('p1', 2, 9)] }),
        'ORDER_EXISTS', { orderId: 'o1' });
      await expect(orders.get('o1')).resolves.toMatchObject({ userId: 'u1', total: 5 });
    });

    it('keeps totals exact up to the largest safe integer, and refuses stats past it (STATS_LIMIT_EXCEEDED)', async () => {
      await products({ p1: 10, p2: 10 });
      const big = await orders.place({ id: 'big', userId: 'u1', items: [line('p1', 1, MAX - 1)] });
      expect(big.total).toBe(MAX - 1);
      await expect(orders.get('big')).resolves.toMatchObject({ total: MAX - 1, items: [line('p1', 1, MAX - 1)] });
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'], () => orders.place({ id: 'more', userId: 'u1', items: [line('p2', 1, 2)] }),
        'STATS_LIMIT_EXCEEDED', { userId: 'u1' });
      await orders.place({ id: 'last', userId: 'u1', items: [line('p2', 1, 1)] });
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 2, totalSpent: MAX });
    });

    it('accepts free lines (unit price 0) and quantities up to the stock near 2^53', async () => {
      await products({ p1: MAX });
      const order = await orders.place({ userId: 'u1', items: [line('p1', MAX - 1, 0)] });
      expect(order.total).toBe(0);
      expect(await stock('p1')).toBe(1);
      await orders.cancel(order.id);
      expect(await stock('p1')).toBe(MAX);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 0, totalSpent: 0 });
    });

    it('accepts exactly 100 lines', async () => {
      const items = Array.from({ length: 100 }, (_, i) => line(`p${i}`, 1, i));
      for (const item of items) await inventory.setStock(item.productId, 1);
      const order = await orders.place({ userId: 'u1', items });
      expect(order.total).toBe((99 * 100) / 2);
      await expect(orders.get(order.id)).resolves.toEqual(order);
      expect(await stock('p99')).toBe(0);
    });

    const p = (items: unknown, extra: object = {}) => ({ userId: 'u1', items, ...extra }) as PlaceOrder;
    it.each([
      ['no items', p([])],
      ['101 lines', p(Array.from({ length: 101 }, (_, i) => line(`p${i}`, 1, 1)))],
      ['items not an array', p({ productId: 'p1', quantity: 1, unitPrice: 1 })],
      ['a repeated product', p([line('p1', 1, 1), line('p2', 1, 1), line('p1', 1, 1)])],
      ['a zero quantity', p([line('p1', 0, 1)])],
      ['a fractional quantity', p([line('p1', 1.5, 1)])],
      ['a negative unit price', p([line('p1', 1, -1)])],
      ['a fractional unit price', p([line('p1', 1, 0.5)])],
      ['an unsafe unit price', p([line('p1', 1, MAX + 1)])],
      ['a string quantity', p([line('p1', '1' as unknown as number, 1)])],
      ['a total past 2^53', p([line('p1', 2, MAX - 5)])],
      ['a total past 2^53 over two lines', p([line('p1', 1, MAX - 5), line('p2', 1, 6)])],
      ['a bad product id', p([line('p:1', 1, 1)])],
      ['a bad user id', { userId: 'u{1}', items: [line('p1', 1, 1)] } as PlaceOrder],
      ['a bad order id', p([line('p1', 1, 1)], { id: 'o 1' })],
      ['a 65-character order id', p([line('p1', 1, 1)], { id: 'x'.repeat(65) })],
      ['a null line', p([null])],
      ['no command', null as unknown as PlaceOrder],
    ])('refuses %s with VALIDATION_FAILED and writes nothing', async (_, cmd) => {
      await products({ p1: 10, p2: 10 });
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'], () => orders.place(cmd), 'VALIDATION_FAILED');
    });
  });

  describe('cancel', () => {
    it('cancels a pending order: stock back, stats reduced, off the queue, still listed for the user', async () => {
      await products({ p1: 10, p2: 10 });
      await orders.place({ id: 'keep', userId: 'u1', items: [line('p1', 1, 100)] });
      const placed = await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 4, 100), line('p2', 2, 50)] });
      const cancelled = await orders.cancel('o1');
      expect(cancelled).toEqual({ ...placed, status: 'cancelled' });
      expect(await stocks('p1', 'p2')).toEqual([9, 10]);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 1, totalSpent: 100 });
      await expect(orders.queue()).resolves.toEqual({ pending: ['keep'], processing: [] });
      expect((await orders.listByUser('u1')).map((o) => [o.id, o.status])).toEqual([['keep', 'pending'], ['o1', 'cancelled']]);
      await expect(orders.get('o1')).resolves.toEqual(cancelled);
    });

    it('refuses a cancelled, processing or completed order with ORDER_NOT_CANCELLABLE, changing nothing', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.place({ id: 'o2', userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.place({ id: 'o3', userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.cancel('o1');
      await orders.claimNext(); // o2
      await orders.claimNext(); // o3
      await orders.complete('o3');
      for (const [id, status] of [['o1', 'cancelled'], ['o2', 'processing'], ['o3', 'completed']]) {
        await expectRejectedUnchanged(['p1'], ['u1'], () => orders.cancel(id), 'ORDER_NOT_CANCELLABLE', { orderId: id, status });
      }
    });

    it('says ORDER_NOT_FOUND for an unknown order', async () => {
      await expectRejectedUnchanged([], [], () => orders.cancel('ghost'), 'ORDER_NOT_FOUND', { orderId: 'ghost' });
    });

    it('refuses to give back stock past the largest safe integer (STOCK_LIMIT_EXCEEDED), changing nothing', async () => {
      await products({ p1: 5, p2: 5 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1), line('p2', 2, 1)] });
      await inventory.setStock('p2', MAX - 1);
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'], () => orders.cancel('o1'), 'STOCK_LIMIT_EXCEEDED',
        { productId: 'p2', stock: MAX - 1, quantity: 2 });
      await inventory.setStock('p2', MAX - 2);
      await expect(orders.cancel('o1')).resolves.toMatchObject({ status: 'cancelled' });
      expect(await stocks('p1', 'p2')).toEqual([5, MAX]);
    });

    it.each(['a:b', 'x'.repeat(65), ''])('refuses the id %p with VALIDATION_FAILED', async (id) => {
      await expect(orders.cancel(id)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(orders.complete(id)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(orders.get(id)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  describe('claimNext / complete (reliable queue)', () => {
    it('claims the oldest pending order first, moving it to processing; null when nothing is pending', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2', 'o3']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      const first = await orders.claimNext();
      expect(first).toEqual({ ...(await orders.get('o1')), status: 'processing' });
      await expect(orders.queue()).resolves.toEqual({ pending: ['o2', 'o3'], processing: ['o1'] });
      await expect(orders.claimNext()).resolves.toMatchObject({ id: 'o2', status: 'processing' });
      await expect(orders.claimNext()).resolves.toMatchObject({ id: 'o3', status: 'processing' });
      await expect(orders.claimNext()).resolves.toBeNull();
      await expect(orders.queue()).resolves.toEqual({ pending: [], processing: ['o1', 'o2', 'o3'] });
    });

    it('never claims a cancelled order', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.cancel('o1');
      await expect(orders.claimNext()).resolves.toMatchObject({ id: 'o2' });
      await expect(orders.claimNext()).resolves.toBeNull();
    });

    it('keeps a claim that is never completed visible (a crashed worker), and never hands it out again', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.claimNext(); // the worker "crashes" here
      await expect(orders.claimNext()).resolves.toBeNull();
      await expect(orders.queue()).resolves.toEqual({ pending: [], processing: ['o1'] });
      await expect(orders.get('o1')).resolves.toMatchObject({ status: 'processing' });
      await expect(orders.complete('o1')).resolves.toMatchObject({ status: 'completed' }); // still completable
    });

    it('completes a processing order: off the processing list, stats and stock unchanged', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 2, 30)] });
      await orders.place({ id: 'o2', userId: 'u1', items: [line('p1', 1, 30)] });
      await orders.claimNext();
      await orders.claimNext();
      const done = await orders.complete('o1');
      expect(done).toEqual({ ...(await orders.get('o1')), status: 'completed' });
      await expect(orders.queue()).resolves.toEqual({ pending: [], processing: ['o2'] });
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 2, totalSpent: 90 });
      expect(await stock('p1')).toBe(7);
    });

    it('refuses to complete a pending, completed or cancelled order with INVALID_TRANSITION, changing nothing', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2', 'o3']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.claimNext();
      await orders.complete('o1');
      await orders.cancel('o3');
      for (const [id, status] of [['o1', 'completed'], ['o2', 'pending'], ['o3', 'cancelled']]) {
        await expectRejectedUnchanged(['p1'], ['u1'], () => orders.complete(id), 'INVALID_TRANSITION', { orderId: id, status });
      }
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.complete('ghost'), 'ORDER_NOT_FOUND', { orderId: 'ghost' });
    });
  });

  describe('reads', () => {
    it('says ORDER_NOT_FOUND for an unknown order, and zeros / no orders for an unknown user', async () => {
      await expect(orders.get('ghost')).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND', details: { orderId: 'ghost' } });
      await expect(orders.listByUser('nobody')).resolves.toEqual([]);
      await expect(orders.userStats('nobody')).resolves.toEqual({ userId: 'nobody', totalOrders: 0, totalSpent: 0 });
      await expect(orders.queue()).resolves.toEqual({ pending: [], processing: [] });
    });

    it.each(['a:b', 'u{1}', 'x'.repeat(65)])('refuses the user id %p with VALIDATION_FAILED', async (userId) => {
      await expect(orders.listByUser(userId)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(orders.userStats(userId)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });

    it('hands out copies: changing a result changes nothing stored', async () => {
      await products({ p1: 10 });
      const order = await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      order.items[0].quantity = 99;
      order.status = 'completed';
      await expect(orders.get('o1')).resolves.toMatchObject({ status: 'pending', items: [line('p1', 1, 1)] });
    });
  });

  describe('idempotency keys', () => {
    /** Any printable ASCII is a key; unique per call so tests never share one. */
    const key = () => `key ${randomBytes(4).toString('hex')} ~!@#$%^&*(){}[]:;"'<>,.?/|\\`;
    const k = (idempotencyKey: string) => ({ idempotencyKey });
    const everything = () => snapshot(['p1', 'p2'], ['u1', 'u2']);

    /** Runs `write` twice more under `key1` after the first call: same result, marked replayed, nothing changed. */
    async function expectReplayed<T>(first: T, write: () => Promise<T>) {
      expect(isReplayed(first)).toBe(false);
      const after = await everything();
      for (let retry = 0; retry < 2; retry++) {
        const again = await write();
        expect(again).toEqual(first);
        expect(isReplayed(again)).toBe(true);
      }
      expect(await everything()).toEqual(after);
    }

    it('place: a retry replays the order and takes no stock twice', async () => {
      await products({ p1: 10, p2: 10 });
      const key1 = key();
      const place = () => orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 3, 250), line('p2', 1, 9)] }, k(key1));
      const first = await place();
      expect(first).toMatchObject({ id: 'o1', status: 'pending', total: 759 });
      await expectReplayed(first, place);
      expect(await stocks('p1', 'p2')).toEqual([7, 9]);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 1, totalSpent: 759 });
    });

    it('place without an id: the id is derived from the key, so a retry returns the same order', async () => {
      await products({ p1: 10 });
      const [key1, key2] = [key(), key()];
      const place = (idempotencyKey: string) => orders.place({ userId: 'u1', items: [line('p1', 1, 5)] }, k(idempotencyKey));
      const first = await place(key1);
      expect(first.id).toMatch(ID_PATTERN);
      expect(first.id).toMatch(/^[0-9a-f]{32}$/);
      await expectReplayed(first, () => place(key1));
      const other = await place(key2);
      expect(other.id).not.toBe(first.id);
      expect(isReplayed(other)).toBe(false);
      expect((await orders.listByUser('u1')).map((o) => o.id).sort()).toEqual([first.id, other.id].sort());
      expect(await stock('p1')).toBe(8);
      // The control: without a key every call is a new order.
      const [a, b] = [await orders.place({ userId: 'u2', items: [line('p1', 1, 5)] }), await orders.place({ userId: 'u2', items: [line('p1', 1, 5)] })];
      expect(a.id).not.toBe(b.id);
    });

    it('cancel: a retry replays the cancelled order (not ORDER_NOT_CANCELLABLE) and gives no stock back twice', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 4, 10)] });
      const key1 = key();
      const first = await orders.cancel('o1', k(key1));
      expect(first).toMatchObject({ id: 'o1', status: 'cancelled', items: [line('p1', 4, 10)] });
      await expectReplayed(first, () => orders.cancel('o1', k(key1)));
      expect(await stock('p1')).toBe(10);
      await expect(orders.cancel('o1')).rejects.toMatchObject({ code: 'ORDER_NOT_CANCELLABLE' }); // the control: no key
    });

    it('claimNext: a retry replays the same claimed order and claims no other', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      const key1 = key();
      const first = await orders.claimNext(k(key1));
      expect(first).toEqual({ ...(await orders.get('o1')), status: 'processing' });
      await expectReplayed(first, () => orders.claimNext(k(key1)));
      await expect(orders.queue()).resolves.toEqual({ pending: ['o2'], processing: ['o1'] });
      await expect(orders.claimNext()).resolves.toMatchObject({ id: 'o2' }); // the control: no key, the next one
    });

    it('complete: a retry replays the completed order (not INVALID_TRANSITION)', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 2, 3)] });
      await orders.claimNext();
      const key1 = key();
      const first = await orders.complete('o1', k(key1));
      expect(first).toMatchObject({ id: 'o1', status: 'completed', total: 6 });
      await expectReplayed(first, () => orders.complete('o1', k(key1)));
      await expect(orders.complete('o1')).rejects.toMatchObject({ code: 'INVALID_TRANSITION' }); // the control: no key
    });

    it('refuses the same key with a different request — another order, operation, or an Inventory write — writing nothing', async () => {
      await products({ p1: 10, p2: 10 });
      const key1 = key();
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 5)] }, k(key1));
      for (const other of [
        () => orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 2, 5)] }, k(key1)),
        () => orders.place({ userId: 'u1', items: [line('p1', 1, 5)] }, k(key1)), // no id is another request than id o1
        () => orders.cancel('o1', k(key1)),
        () => orders.claimNext(k(key1)),
        () => orders.complete('o1', k(key1)),
        () => inventory.restock('p1', 1, k(key1)), // one key space per shop
      ]) {
        await expectRejectedUnchanged(['p1', 'p2'], ['u1'], other, 'IDEMPOTENCY_KEY_MISMATCH');
      }
      // …and the other way round: a key first used by Inventory
      const key2 = key();
      await inventory.setStock('p2', 3, k(key2));
      await expectRejectedUnchanged(['p1', 'p2'], ['u1'], () => orders.place({ userId: 'u1', items: [line('p2', 1, 1)] }, k(key2)),
        'IDEMPOTENCY_KEY_MISMATCH');
      await expect(orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 5)] }, k(key1))).resolves.toMatchObject({ id: 'o1' });
    });

    it('stores and replays OUT_OF_STOCK, even once the stock is back: no order is ever placed under that key', async () => {
      await products({ p1: 1 });
      const key1 = key();
      const place = () => orders.place({ userId: 'u1', items: [line('p1', 2, 5)] }, k(key1));
      const first = await place().catch((e) => e);
      expect(first).toMatchObject({ code: 'OUT_OF_STOCK', replayed: false, details: { index: 0, productId: 'p1', requested: 2, available: 1 } });
      await inventory.restock('p1', 10);
      await expectRejectedUnchanged(['p1'], ['u1'], place, 'OUT_OF_STOCK', first.details);
      await expect(place()).rejects.toMatchObject({ replayed: true, message: first.message, details: first.details });
      await expect(orders.listByUser('u1')).resolves.toEqual([]);
      expect(await stock('p1')).toBe(11);
    });

    it('stores and replays ORDER_NOT_FOUND of cancel, even once the order exists (it stays pending)', async () => {
      await products({ p1: 10 });
      const key1 = key();
      const first = await orders.cancel('o1', k(key1)).catch((e) => e);
      expect(first).toMatchObject({ code: 'ORDER_NOT_FOUND', replayed: false, details: { orderId: 'o1' } });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.cancel('o1', k(key1)), 'ORDER_NOT_FOUND', first.details);
      await expect(orders.cancel('o1', k(key1))).rejects.toMatchObject({ replayed: true, message: first.message });
      await expect(orders.get('o1')).resolves.toMatchObject({ status: 'pending' });
    });

    it('stores and replays ORDER_NOT_CANCELLABLE and INVALID_TRANSITION, even once the transition would pass', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      await orders.claimNext(); // o1 is processing
      const [cancelKey, completeKey] = [key(), key()];
      const notCancellable = await orders.cancel('o1', k(cancelKey)).catch((e) => e);
      expect(notCancellable).toMatchObject({ code: 'ORDER_NOT_CANCELLABLE', replayed: false, details: { orderId: 'o1', status: 'processing' } });
      const invalid = await orders.complete('o2', k(completeKey)).catch((e) => e);
      expect(invalid).toMatchObject({ code: 'INVALID_TRANSITION', replayed: false, details: { orderId: 'o2', status: 'pending' } });
      await orders.claimNext(); // now o2 could be completed…
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.complete('o2', k(completeKey)), 'INVALID_TRANSITION', invalid.details);
      await expect(orders.complete('o2', k(completeKey))).rejects.toMatchObject({ replayed: true, message: invalid.message });
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.cancel('o1', k(cancelKey)), 'ORDER_NOT_CANCELLABLE', notCancellable.details);
      await expect(orders.get('o2')).resolves.toMatchObject({ status: 'processing' }); // …but the key kept its outcome
    });

    it('does not store validation failures: the key stays free for the corrected request', async () => {
      await products({ p1: 10 });
      const key1 = key();
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.place({ userId: 'u1', items: [line('p1', 0, 5)] }, k(key1)), 'VALIDATION_FAILED');
      await expectRejectedUnchanged(['p1'], ['u1'], () => orders.cancel('o:1', k(key1)), 'VALIDATION_FAILED');
      const corrected = await orders.place({ userId: 'u1', items: [line('p1', 1, 5)] }, k(key1));
      expect(isReplayed(corrected)).toBe(false);
      expect(await stock('p1')).toBe(9);
    });

    it.each([
      ['empty', ''], ['256 characters', 'x'.repeat(256)], ['non-ASCII', 'café'], ['a newline', 'a\nb'], ['a tab', 'tab\there'],
      ['not a string', 42 as unknown as string],
    ])('refuses a key that is %s on every write, writing nothing', async (_, bad) => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      for (const write of [
        () => orders.place({ userId: 'u1', items: [line('p1', 1, 1)] }, k(bad)),
        () => orders.cancel('o1', k(bad)),
        () => orders.claimNext(k(bad)),
        () => orders.complete('o1', k(bad)),
      ]) {
        await expectRejectedUnchanged(['p1'], ['u1'], write, 'VALIDATION_FAILED', { field: 'idempotencyKey' });
      }
    });

    it('ten concurrent places with one key (no id) → exactly one order, stock taken once; the others replay it', async () => {
      await products({ p1: 10 });
      const key1 = key();
      const outcomes = await Promise.all(Array.from({ length: 10 }, () =>
        orders.place({ userId: 'u1', items: [line('p1', 3, 5)] }, k(key1)).catch((e) => e)));
      const placed = outcomes.filter((o) => !(o instanceof Error)) as Order[];
      expect(outcomes.filter((o) => o instanceof Error).every((e) => (e as { code?: string }).code === 'IDEMPOTENCY_KEY_IN_PROGRESS')).toBe(true);
      expect(placed.length).toBeGreaterThan(0);
      for (const order of placed) expect(order).toEqual(placed[0]);
      expect(placed.filter((order) => !isReplayed(order))).toHaveLength(1);
      expect(await stock('p1')).toBe(7);
      await expect(orders.listByUser('u1')).resolves.toEqual([placed[0]]);
      await expect(orders.userStats('u1')).resolves.toEqual({ userId: 'u1', totalOrders: 1, totalSpent: 15 });
      await expect(orders.queue()).resolves.toEqual({ pending: [placed[0].id], processing: [] });
    });

    it('ten concurrent claims with one key → one order claimed; the others replay it', async () => {
      await products({ p1: 10 });
      for (const id of ['o1', 'o2', 'o3']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      const key1 = key();
      const claims = await Promise.all(Array.from({ length: 10 }, () => orders.claimNext(k(key1))));
      for (const claimed of claims) expect(claimed).toEqual(claims[0]);
      expect(claims[0]).toMatchObject({ id: 'o1', status: 'processing' });
      expect(claims.filter((claimed) => !isReplayed(claimed))).toHaveLength(1);
      await expect(orders.queue()).resolves.toEqual({ pending: ['o2', 'o3'], processing: ['o1'] });
    });

    it('a keyed claim that finds nothing pending is not recorded: the key then claims the next order once', async () => {
      const key1 = key();
      const before = await everything();
      await expect(orders.claimNext(k(key1))).resolves.toBeNull();
      expect(await everything()).toEqual(before); // no record either (Redis: the raw keyspace is part of the snapshot)
      await products({ p1: 10 });
      for (const id of ['o1', 'o2']) await orders.place({ id, userId: 'u1', items: [line('p1', 1, 1)] });
      const claimed = await orders.claimNext(k(key1));
      expect(claimed).toMatchObject({ id: 'o1', status: 'processing' });
      expect(isReplayed(claimed)).toBe(false);
      await expect(orders.claimNext(k(key1))).resolves.toEqual(claimed);
      await expect(orders.queue()).resolves.toEqual({ pending: ['o2'], processing: ['o1'] });
    });

    it('a keyed claim replays its order even once the queue is empty', async () => {
      await products({ p1: 10 });
      await orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
      const key1 = key();
      const claimed = await orders.claimNext(k(key1));
      await expect(orders.claimNext()).resolves.toBeNull();
      const again = await orders.claimNext(k(key1));
      expect(again).toEqual(claimed);
      expect(isReplayed(again)).toBe(true);
    });

    it('replays orders with many lines and prices up to 2^53 exactly', async () => {
      const items = Array.from({ length: 100 }, (_, i) => line(`p${i}`, 1 + i, i === 0 ? MAX - 99 * 100 * 100 : i));
      for (const item of items) await inventory.setStock(item.productId, MAX);
      const placeKey = key();
      const placed = await orders.place({ userId: 'u1', items }, k(placeKey));
      expect(placed.items).toEqual(items);
      await expect(orders.place({ userId: 'u1', items }, k(placeKey))).resolves.toEqual(placed);
      const [claimKey, completeKey] = [key(), key()];
      const claimed = await orders.claimNext(k(claimKey));
      expect(claimed).toEqual({ ...placed, status: 'processing' });
      await expect(orders.claimNext(k(claimKey))).resolves.toEqual(claimed);
      const completed = await orders.complete(placed.id, k(completeKey));
      await expect(orders.complete(placed.id, k(completeKey))).resolves.toEqual(completed);
      expect(completed.items).toEqual(items);
    });
  });
}
