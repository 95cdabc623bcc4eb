/**
 * Orders.requeue (the board's action on a stuck claim), one contract on every adapter: processing → pending, off the
 * processing list and first in line for the next claim, one `order.requeued` event; refusals (unknown, pending,
 * completed, cancelled orders; a bad id) write nothing — raw keyspace and event log unchanged; a keyed retry replays.
 */
import { ATOMIC_STRATEGIES, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { ShopFixture, shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()), 30_000);
afterAll(() => server?.stop());

describe.each(ATOMIC_STRATEGIES)('Orders.requeue — %s', (strategy) => {
  let f: ShopFixture;
  beforeEach(async () => (f = await shopFixture(strategy, server)));
  afterEach(() => f?.close());

  const line = { productId: 'p', quantity: 1, unitPrice: 10 };

  it('moves a claim back to the queue, first in line; one event; a keyed retry replays', async () => {
    const { inventory, orders } = f;
    await inventory.setStock('p', 10);
    const stuck = await orders.place({ userId: 'u1', items: [line] });
    const next = await orders.place({ userId: 'u2', items: [line] });
    expect((await orders.claimNext())!.id).toBe(stuck.id);
    const mark = await f.lastEventId();
    const requeued = await orders.requeue(stuck.id, { idempotencyKey: 'requeue-1' });
    expect(requeued).toEqual({ ...stuck, status: 'pending' });
    expect(await orders.queue()).toEqual({ pending: [stuck.id, next.id], processing: [] }); // oldest (next to claim) first
    expect((await f.events(mark)).map((e) => [e.type, e.data])).toEqual([['order.requeued', { orderId: stuck.id, userId: 'u1' }]]);
    const replay = await orders.requeue(stuck.id, { idempotencyKey: 'requeue-1' });
    expect(isReplayed(replay)).toBe(true);
    expect(replay).toEqual(requeued);
    expect(await f.events(mark)).toHaveLength(1);
    // first in line: the next claim takes it again, then the other order
    expect((await orders.claimNext())!.id).toBe(stuck.id);
    expect((await orders.claimNext())!.id).toBe(next.id);
    expect((await orders.complete(stuck.id)).status).toBe('completed');
    expect((await orders.get(stuck.id)).status).toBe('completed');
    expect(await orders.userStats('u1')).toEqual({ userId: 'u1', totalOrders: 1, totalSpent: 10 });
  });

  it('refuses anything but a processing order, writing nothing', async () => {
    const { inventory, orders } = f;
    await inventory.setStock('p', 10);
    const pending = await orders.place({ userId: 'u', items: [line] });
    const cancelled = await orders.place({ userId: 'u', items: [line] });
    await orders.cancel(cancelled.id);
    const done = await orders.place({ userId: 'u', items: [line] });
    await orders.claimNext(); // claims `pending`
    await orders.claimNext(); // claims `done`
    await orders.complete(done.id);
    await orders.requeue(pending.id); // back to pending for the refusal below
    const cases: [string, string, object][] = [
      ['nope', 'ORDER_NOT_FOUND', { orderId: 'nope' }],
      [pending.id, 'INVALID_TRANSITION', { orderId: pending.id, status: 'pending' }],
      [cancelled.id, 'INVALID_TRANSITION', { status: 'cancelled' }],
      [done.id, 'INVALID_TRANSITION', { status: 'completed' }],
      ['bad id!', 'VALIDATION_FAILED', {}],
    ];
    for (const [i, [id, code, details]] of cases.entries()) {
      const before = { raw: await f.rawSnapshot?.(), queue: await orders.queue(), mark: await f.lastEventId() };
      await expect(orders.requeue(id, { idempotencyKey: `refused-${i}` })).rejects.toMatchObject({ code, ...(Object.keys(details).length && { details: expect.objectContaining(details) }) });
      if (code === 'VALIDATION_FAILED') expect(await f.rawSnapshot?.()).toEqual(before.raw); // not even a record
      expect(await orders.queue()).toEqual(before.queue);
      expect(await f.lastEventId()).toBe(before.mark);
    }
  });
});
