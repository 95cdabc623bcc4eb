/**
 * The shop's event log as an outbox: after a concurrent mixed workload (stock set and restocked, orders placed,
 * cancelled, claimed and completed, keyed retries, failures), replaying the shop's stream from the empty state
 * reproduces every stock level (and every order's status) exactly, each event's stated levels included, and there
 * is exactly one event per successful operation. Then an event log of the wrong type: nothing written.
 */
import { ATOMIC_STRATEGIES, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import type { EventView } from '../src/events/events.port';
import { ShopFixture, shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

function random(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state % n;
  };
}

function replay(events: EventView[]): { stock: Map<string, number>; status: Map<string, string> } {
  const stock = new Map<string, number>();
  const status = new Map<string, string>();
  const move = (productId: string, delta: number, stated: unknown) => {
    const level = stock.get(productId)! + delta;
    stock.set(productId, level);
    expect({ productId, level }).toEqual({ productId, level: stated });
  };
  for (const { type, data } of events) {
    const d = data as any;
    switch (type) {
      case 'stock.set': stock.set(d.productId, d.stock); break;
      case 'stock.restocked': move(d.productId, d.quantity, d.stock); break;
      case 'order.placed':
      case 'order.cancelled':
        for (const item of d.items) move(item.productId, type === 'order.placed' ? -item.quantity : item.quantity, item.stock);
        status.set(d.orderId, type === 'order.placed' ? 'pending' : 'cancelled');
        break;
      case 'order.claimed': status.set(d.orderId, 'processing'); break;
      case 'order.completed': status.set(d.orderId, 'completed'); break;
      default: throw new Error(`unexpected event type ${type}`);
    }
  }
  return { stock, status };
}

describe.each(ATOMIC_STRATEGIES)('shop event log — %s', (strategy) => {
  let fixture: ShopFixture;
  afterEach(() => fixture?.close());

  it('replaying the stream after a concurrent mixed workload reproduces every stock level and order status', async () => {
    fixture = await shopFixture(strategy, server);
    const { inventory, orders } = fixture;
    const productIds = ['p0', 'p1', 'p2', 'p3'];
    for (const id of productIds) await inventory.setStock(id, 20);
    let successes = productIds.length;
    const rand = random(7);
    const operations: (() => Promise<unknown>)[] = [];
    const placed: string[] = [];
    for (let i = 0; i < 200; i++) {
      const kind = rand(6);
      const key = rand(4) === 0 ? { idempotencyKey: `k-${i}` } : undefined;
      let op: () => Promise<unknown>;
      if (kind <= 1) {
        const first = rand(4);
        const items = [{ productId: productIds[first], quantity: 1 + rand(4), unitPrice: 1 + rand(50) }];
        if (rand(2) === 0) items.push({ productId: productIds[(first + 1) % 4], quantity: 1 + rand(3), unitPrice: 3 });
        const id = `o-${i}`;
        placed.push(id);
        const userId = `u-${rand(3)}`;
        op = () => orders.place({ id, userId, items }, key);
      } else if (kind === 2) {
        const [productId, quantity] = [productIds[rand(4)], 1 + rand(5)];
        op = () => inventory.restock(productId, quantity, key);
      } else if (kind === 3 && placed.length) {
        const id = placed[rand(placed.length)];
        op = () => orders.cancel(id, key);
      } else if (kind === 4) {
        op = () => orders.claimNext(key);
      } else if (placed.length) {
        const id = placed[rand(placed.length)];
        op = () => orders.complete(id, key);
      } else {
        continue;
      }
      operations.push(op);
      if (key) operations.push(op); // a retry with the same key: replayed (or, for an empty claim, nothing again)
    }
    const queue = [...operations];
    await Promise.all(Array.from({ length: 12 }, async () => {
      for (let op = queue.shift(); op; op = queue.shift()) {
        try {
          const result = await op();
          if (result !== null && !isReplayed(result)) successes += 1;
        } catch (error) {
          expect((error as { code?: string }).code).toMatch(
            /^(OUT_OF_STOCK|ORDER_NOT_FOUND|ORDER_NOT_CANCELLABLE|INVALID_TRANSITION|CONFLICT|IDEMPOTENCY_KEY_IN_PROGRESS)$/);
        }
      }
    }));

    // Second phase, concurrent too: complete what is processing, cancel pending orders, claim the rest, restock.
    const { pending, processing } = await orders.queue();
    const count = async (op: Promise<unknown>) => {
      if ((await op) !== null) successes += 1;
    };
    await Promise.all([
      ...processing.map((id) => count(orders.complete(id))),
      ...pending.filter((_, i) => i % 2 === 0).map((id) => count(orders.cancel(id))),
      ...pending.filter((_, i) => i % 2 === 1).map(() => count(orders.claimNext())),
      ...productIds.map((id) => count(inventory.restock(id, 3))),
    ]);

    // Third phase: orders placed, then cancelled concurrently.
    const late = productIds.map((productId, i) => ({ id: `late-${i}`, userId: 'u-late', items: [{ productId, quantity: 1, unitPrice: 2 }] }));
    for (const order of late) await count(orders.place(order));
    await Promise.all(late.map((order) => count(orders.cancel(order.id))));

    const events = await fixture.events();
    expect(events).toHaveLength(successes);
    expect(new Set(events.map((e) => e.type)).size).toBe(6); // every kind of shop event occurred
    const { stock, status } = replay(events);
    for (const id of productIds) expect({ id, stock: stock.get(id) }).toEqual({ id, stock: (await inventory.get(id)).stock });
    for (const [id, replayed] of status) expect({ id, status: replayed }).toEqual({ id, status: (await orders.get(id)).status });
  }, 30_000);

  if (strategy !== 'memory') {
    it('refuses every shop write when the event log is not a stream: STORE_CORRUPTED, nothing written', async () => {
      fixture = await shopFixture(strategy, server);
      const { inventory, orders } = fixture;
      await inventory.setStock('p1', 5);
      await orders.place({ id: 'o1', userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 1 }] });
      await orders.place({ id: 'o2', userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 1 }] });
      await orders.claimNext();
      await fixture.client!.del(fixture.keys!.events);
      await fixture.client!.set(fixture.keys!.events, 'not a stream');
      const before = await fixture.rawSnapshot!();
      for (const write of [
        () => inventory.setStock('p1', 9), () => inventory.restock('p1', 1),
        () => orders.place({ id: 'o3', userId: 'u1', items: [{ productId: 'p1', quantity: 1, unitPrice: 1 }] }),
        () => orders.cancel('o2'), () => orders.claimNext(), () => orders.complete('o1'),
      ]) {
        await expect(write()).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
      }
      expect(await fixture.rawSnapshot!()).toBe(before);
    });
  }
});
