/**
 * Inventory.listHeld (the board's reservations panel), one contract on every adapter: held reservations only,
 * soonest expiry first, bounded and validated; released and consumed ones leave the list; a lapsed one shows
 * `expired` until a sweep expires it, then leaves.
 */
import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { eventually } from './contract/pending.contract';
import { ShopFixture, shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()), 30_000);
afterAll(() => server?.stop());

describe.each(ATOMIC_STRATEGIES)('Inventory.listHeld — %s', (strategy) => {
  let f: ShopFixture;
  beforeEach(async () => (f = await shopFixture(strategy, server)));
  afterEach(() => f?.close());

  it('held reservations only, soonest expiry first, bounded and validated', async () => {
    const { inventory, orders } = f;
    await inventory.setStock('p', 100);
    await inventory.setStock('q', 100);
    const late = await inventory.reserve('p', 1, 3600);
    const soon = await inventory.reserve('q', 2, 60);
    const middle = await inventory.reserve('p', 3, 600);
    const released = await inventory.reserve('q', 4, 600);
    const consumed = await inventory.reserve('p', 5, 600);
    await inventory.release('q', released.id);
    await orders.place({ userId: 'u', items: [{ productId: 'p', quantity: 5, unitPrice: 1, reservationId: consumed.id }] });

    const listed = await inventory.listHeld();
    expect(listed.map((r) => [r.id, r.productId, r.quantity, r.status])).toEqual([
      [soon.id, 'q', 2, 'held'], [middle.id, 'p', 3, 'held'], [late.id, 'p', 1, 'held'],
    ]);
    expect(listed[0]).toEqual(await inventory.getReservation('q', soon.id));
    expect((await inventory.listHeld(2)).map((r) => r.id)).toEqual([soon.id, middle.id]);
    for (const bad of [0, 1001, 2.5]) await expect(inventory.listHeld(bad)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('a lapsed reservation shows expired until a sweep expires it, then leaves the list', async () => {
    const { inventory } = f;
    await inventory.setStock('p', 10);
    const short = await inventory.reserve('p', 1, 1);
    expect((await inventory.listHeld()).map((r) => [r.id, r.status])).toEqual([[short.id, 'held']]);
    await eventually(async () => (await inventory.listHeld())[0]?.status === 'expired', 'the reservation reads expired');
    await eventually(async () => (await inventory.expireDue(10)).expired.includes(short.id), 'a sweep expires it');
    expect(await inventory.listHeld()).toEqual([]);
  });
});
