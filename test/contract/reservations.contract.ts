import { isReplayed } from '@kernel/core';
import type { Inventory, Reservation } from '../../src/shop/inventory/inventory.port';
import type { Orders } from '../../src/shop/orders/orders.port';
import type { ShopFixture } from '../support/shop-fixture';

const MAX = Number.MAX_SAFE_INTEGER;

/**
 * The stock reservations contract (Inventory.reserve / release / getReservation / availability / expireDue, and
 * Orders.place consuming reservations), run against every adapter. Every transition, every refusal — with the
 * raw keyspace, the port's view and the event log unchanged by each refusal.
 */
export function reservationsContract(makeFixture: () => Promise<ShopFixture>,
  makeShortRecordsFixture: () => Promise<ShopFixture>): void {
  let fixture: ShopFixture;
  let inventory: Inventory;
  let orders: Orders;

  beforeEach(async () => {
    fixture = await makeFixture();
    ({ inventory, orders } = fixture);
  });
  afterEach(() => fixture.close());

  const PRODUCTS = ['p1', 'p2', 'p3'];
  /** Everything observable: levels, availability, the raw keyspace (Redis), the event log. */
  async function snapshot(): Promise<unknown> {
    const availability = await Promise.all(PRODUCTS.map((p) => inventory.availability(p).catch((e) => e.code)));
    return { levels: await inventory.lowStock(MAX, 1000), availability, raw: await fixture.rawSnapshot?.(), events: await fixture.events() };
  }

  async function expectRefusedUnchanged(operation: () => Promise<unknown>, code: string, details?: object) {
    const before = await snapshot();
    await expect(operation()).rejects.toMatchObject({ code, ...(details && { details }) });
    expect(await snapshot()).toEqual(before);
  }

  const line = (productId: string, quantity: number, reservationId?: string) =>
    ({ productId, quantity, unitPrice: 10, ...(reservationId && { reservationId }) });

  /** Waits (no time bound of its own: jest's timeout) until the server's clock has passed the reservation's expiry. */
  async function lapsed(productId: string, id: string): Promise<Reservation> {
    for (;;) {
      const r = await inventory.getReservation(productId, id);
      if (r.status === 'expired') return r;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  describe('reserve', () => {
    it('holds units: they leave the available stock, count as held, and the reservation says so (server time)', async () => {
      await inventory.setStock('p1', 10);
      const r = await inventory.reserve('p1', 3, 60);
      expect(r).toEqual({ id: expect.stringMatching(/^[0-9a-f]{32}$/), productId: 'p1', quantity: 3, status: 'held',
        createdAt: expect.any(String), expiresAt: expect.any(String) });
      expect(Date.parse(r.expiresAt) - Date.parse(r.createdAt)).toBe(60_000);
      expect(Math.abs(Date.parse(r.createdAt) - Date.now())).toBeLessThan(60_000); // the server's clock, not an epoch
      expect(await inventory.get('p1')).toEqual({ productId: 'p1', stock: 7 });
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 7, held: 3 });
      expect(await inventory.getReservation('p1', r.id)).toEqual(r);
      const events = await fixture.events();
      expect(events.at(-1)).toMatchObject({ type: 'reservation.created',
        data: { reservationId: r.id, productId: 'p1', quantity: 3, expiresAtMs: Date.parse(r.expiresAt), stock: 7 } });
    });

    it('may hold the last available unit, and refuses one more with OUT_OF_STOCK (holds count), writing nothing', async () => {
      await inventory.setStock('p1', 5);
      await inventory.reserve('p1', 3, 60);
      await inventory.reserve('p1', 2, 60);
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 0, held: 5 });
      await expectRefusedUnchanged(() => inventory.reserve('p1', 1, 60), 'OUT_OF_STOCK', { productId: 'p1', requested: 1, available: 0 });
    });

    it('refuses an unknown product (PRODUCT_NOT_FOUND) and bad input (VALIDATION_FAILED), writing nothing', async () => {
      await inventory.setStock('p1', 5);
      await expectRefusedUnchanged(() => inventory.reserve('nope', 1, 60), 'PRODUCT_NOT_FOUND', { productId: 'nope' });
      for (const [quantity, ttl, field] of [[0, 60, 'quantity'], [1.5, 60, 'quantity'], [1, 0, 'ttlSeconds'], [1, 604_801, 'ttlSeconds'],
        [1, 1.5, 'ttlSeconds'], [MAX + 1, 60, 'quantity']] as const) {
        await expectRefusedUnchanged(() => inventory.reserve('p1', quantity, ttl), 'VALIDATION_FAILED', { field });
      }
      await expectRefusedUnchanged(() => inventory.reserve('a:b', 1, 60), 'VALIDATION_FAILED');
    });

    it('ordinary orders respect the available stock, not the stock on hand', async () => {
      await inventory.setStock('p1', 5);
      await inventory.reserve('p1', 3, 60);
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 3)] }), 'OUT_OF_STOCK',
        { index: 0, productId: 'p1', requested: 3, available: 2 });
      await orders.place({ userId: 'u1', items: [line('p1', 2)] });
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 0, held: 3 });
    });

    it('low-stock queries rank by the available stock', async () => {
      await inventory.setStock('p1', 10);
      await inventory.setStock('p2', 6);
      await inventory.reserve('p1', 8, 60);
      expect(await inventory.lowStock(7)).toEqual([{ productId: 'p1', stock: 2 }, { productId: 'p2', stock: 6 }]);
      expect(await inventory.lowStock(3)).toEqual([{ productId: 'p1', stock: 2 }]);
    });
  });

  describe('release / getReservation', () => {
    it('releases a held reservation: units back, status released, reservation.released; a second release is refused', async () => {
      await inventory.setStock('p1', 10);
      const r = await inventory.reserve('p1', 4, 60);
      const released = await inventory.release('p1', r.id);
      expect(released).toEqual({ ...r, status: 'released' });
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 10, held: 0 });
      expect(await inventory.getReservation('p1', r.id)).toEqual(released);
      expect((await fixture.events()).at(-1)).toMatchObject({ type: 'reservation.released',
        data: { reservationId: r.id, productId: 'p1', quantity: 4, stock: 10 } });
      await expectRefusedUnchanged(() => inventory.release('p1', r.id), 'RESERVATION_RELEASED', { reservationId: r.id, status: 'released' });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 4, r.id)] }), 'RESERVATION_RELEASED',
        { index: 0, reservationId: r.id, status: 'released' });
    });

    it('refuses an unknown reservation (RESERVATION_NOT_FOUND) and one of another product (RESERVATION_PRODUCT_MISMATCH)', async () => {
      await inventory.setStock('p1', 10);
      await inventory.setStock('p2', 10);
      const r = await inventory.reserve('p1', 4, 60);
      await expectRefusedUnchanged(() => inventory.release('p1', 'nope'), 'RESERVATION_NOT_FOUND', { reservationId: 'nope' });
      await expectRefusedUnchanged(() => inventory.release('p2', r.id), 'RESERVATION_PRODUCT_MISMATCH',
        { reservationId: r.id, productId: 'p2', reservedProductId: 'p1' });
      await expect(inventory.getReservation('p1', 'nope')).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
      await expect(inventory.getReservation('p2', r.id)).rejects.toMatchObject({ code: 'RESERVATION_PRODUCT_MISMATCH' });
      await expectRefusedUnchanged(() => inventory.release('p1', 'a|b'), 'VALIDATION_FAILED');
    });

    it('refuses to give back units past the largest safe integer (STOCK_LIMIT_EXCEEDED), changing nothing', async () => {
      await inventory.setStock('p1', 10);
      const r = await inventory.reserve('p1', 4, 60);
      await inventory.setStock('p1', MAX);
      await expectRefusedUnchanged(() => inventory.release('p1', r.id), 'STOCK_LIMIT_EXCEEDED', { productId: 'p1', stock: MAX, quantity: 4 });
    });
  });

  describe('orders consuming reservations', () => {
    it('a reserved line takes the held units; the others take available stock; reservation.consumed follows order.placed', async () => {
      await inventory.setStock('p1', 10);
      await inventory.setStock('p2', 5);
      const r = await inventory.reserve('p1', 4, 60);
      const mark = await fixture.lastEventId();
      const order = await orders.place({ userId: 'u1', items: [line('p1', 4, r.id), line('p2', 2)] });
      expect(order.items).toEqual([line('p1', 4), line('p2', 2)]); // the order keeps its lines, not the reservations
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 6, held: 0 });
      expect(await inventory.availability('p2')).toEqual({ productId: 'p2', available: 3, held: 0 });
      expect(await inventory.getReservation('p1', r.id)).toEqual({ ...r, status: 'consumed', orderId: order.id });
      expect((await fixture.events(mark)).map(({ type, data }) => ({ type, data }))).toEqual([
        { type: 'order.placed', data: { orderId: order.id, userId: 'u1', total: 60,
          items: [{ productId: 'p1', quantity: 4, stock: 6 }, { productId: 'p2', quantity: 2, stock: 3 }] } },
        { type: 'reservation.consumed', data: { reservationId: r.id, productId: 'p1', quantity: 4, orderId: order.id } },
      ]);
      // Consumed: it cannot be used again, nor released.
      await expectRefusedUnchanged(() => orders.place({ userId: 'u2', items: [line('p1', 4, r.id)] }), 'RESERVATION_CONSUMED',
        { index: 0, reservationId: r.id, status: 'consumed' });
      await expectRefusedUnchanged(() => inventory.release('p1', r.id), 'RESERVATION_CONSUMED', { reservationId: r.id });
      // Cancelling the order gives the units to the available stock (the reservation stays consumed).
      await orders.cancel(order.id);
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 10, held: 0 });
    });

    it('refuses, naming the first failing line and changing nothing: unknown, other product, quantity mismatch, short unreserved line', async () => {
      await inventory.setStock('p1', 10);
      await inventory.setStock('p2', 1);
      const r1 = await inventory.reserve('p1', 4, 60);
      const r2 = await inventory.reserve('p2', 1, 60);
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p2', 1, r2.id), line('p1', 4, 'nope')] }),
        'RESERVATION_NOT_FOUND', { index: 1, reservationId: 'nope' });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p2', 4, r1.id)] }), 'RESERVATION_PRODUCT_MISMATCH',
        { index: 0, reservationId: r1.id, productId: 'p2', reservedProductId: 'p1' });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 3, r1.id)] }), 'RESERVATION_QUANTITY_MISMATCH',
        { index: 0, reservationId: r1.id, requested: 3, reserved: 4 });
      // The reserved line would pass; the unreserved one has no available stock (p2's only unit is held): nothing consumed.
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 4, r1.id), line('p2', 1)] }), 'OUT_OF_STOCK',
        { index: 1, productId: 'p2', requested: 1, available: 0 });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('nope', 1, r1.id)] }), 'PRODUCT_NOT_FOUND', { index: 0 });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 4, r1.id), line('p2', 1, r1.id)] }),
        'VALIDATION_FAILED', { field: 'items[1].reservationId' });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 4, 'a:b')] }), 'VALIDATION_FAILED');
    });

    it('a reservation of another shop is not found there', async () => {
      await inventory.setStock('p1', 10);
      const other = await makeFixture(); // another shop (and, for memory, another app)
      try {
        await other.inventory.setStock('p1', 10);
        const theirs = await other.inventory.reserve('p1', 2, 60);
        await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 2, theirs.id)] }), 'RESERVATION_NOT_FOUND',
          { index: 0, reservationId: theirs.id });
        await expectRefusedUnchanged(() => inventory.release('p1', theirs.id), 'RESERVATION_NOT_FOUND');
      } finally {
        await other.close();
      }
    });
  });

  describe('expiry', () => {
    it('a lapsed reservation is expired for every operation; the sweeper gives its units back once (idempotent)', async () => {
      await inventory.setStock('p1', 10);
      await inventory.setStock('p2', 10);
      const live = await inventory.reserve('p2', 2, 3600);
      expect(await inventory.expireDue()).toEqual({ expired: [] }); // not due: nothing happens
      const r = await inventory.reserve('p1', 4, 1);
      expect(await lapsed('p1', r.id)).toEqual({ ...r, status: 'expired' });
      // Touched before the sweep: treated as expired, nothing written.
      await expectRefusedUnchanged(() => inventory.release('p1', r.id), 'RESERVATION_EXPIRED', { reservationId: r.id, status: 'expired' });
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 4, r.id)] }), 'RESERVATION_EXPIRED',
        { index: 0, reservationId: r.id, status: 'expired' });
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 6, held: 4 });
      const mark = await fixture.lastEventId();
      expect(await inventory.expireDue()).toEqual({ expired: [r.id] });
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 10, held: 0 });
      expect(await inventory.availability('p2')).toEqual({ productId: 'p2', available: 8, held: 2 });
      expect(await inventory.getReservation('p1', r.id)).toEqual({ ...r, status: 'expired' });
      expect(await inventory.getReservation('p2', live.id)).toEqual(live);
      expect((await fixture.events(mark)).map(({ type, data }) => ({ type, data }))).toEqual([
        { type: 'reservation.expired', data: { reservationId: r.id, productId: 'p1', quantity: 4, stock: 10 } },
      ]);
      // Again: nothing left to expire, nothing changes.
      const before = await snapshot();
      expect(await inventory.expireDue()).toEqual({ expired: [] });
      expect(await snapshot()).toEqual(before);
      await expectRefusedUnchanged(() => inventory.release('p1', r.id), 'RESERVATION_EXPIRED');
    });

    it('expireDue takes bounded batches; its limit is validated', async () => {
      await inventory.setStock('p1', 10);
      const a = await inventory.reserve('p1', 1, 1);
      const b = await inventory.reserve('p1', 1, 1);
      await lapsed('p1', b.id);
      const first = await inventory.expireDue(1);
      expect(first.expired).toHaveLength(1);
      expect([a.id, b.id]).toContain(first.expired[0]);
      const second = await inventory.expireDue(1);
      expect([...first.expired, ...second.expired].sort()).toEqual([a.id, b.id].sort());
      expect(await inventory.availability('p1')).toEqual({ productId: 'p1', available: 10, held: 0 });
      await expect(inventory.expireDue(0)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'limit' } });
      await expect(inventory.expireDue(1001)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    });
  });

  describe('idempotency keys', () => {
    const k = (idempotencyKey: string) => ({ idempotencyKey });

    it('reserve: a retry replays the same reservation (its id derives from the key) and holds nothing twice', async () => {
      await inventory.setStock('p1', 10);
      const first = await inventory.reserve('p1', 3, 60, k('hold-1'));
      const before = await snapshot();
      const again = await inventory.reserve('p1', 3, 60, k('hold-1'));
      expect(again).toEqual(first);
      expect(isReplayed(again)).toBe(true);
      expect(await snapshot()).toEqual(before);
      await expectRefusedUnchanged(() => inventory.reserve('p1', 4, 60, k('hold-1')), 'IDEMPOTENCY_KEY_MISMATCH');
      await expectRefusedUnchanged(() => inventory.restock('p1', 3, k('hold-1')), 'IDEMPOTENCY_KEY_MISMATCH');
    });

    it('release: a retry replays the released reservation (not RESERVATION_RELEASED); a stored refusal replays', async () => {
      await inventory.setStock('p1', 10);
      const r = await inventory.reserve('p1', 3, 60);
      const released = await inventory.release('p1', r.id, k('rel-1'));
      const before = await snapshot();
      const again = await inventory.release('p1', r.id, k('rel-1'));
      expect(again).toEqual(released);
      expect(isReplayed(again)).toBe(true);
      expect(await snapshot()).toEqual(before);
      await expect(inventory.release('p1', 'ghost', k('rel-2'))).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND', replayed: false });
      await expect(inventory.release('p1', 'ghost', k('rel-2'))).rejects.toMatchObject({ code: 'RESERVATION_NOT_FOUND', replayed: true });
    });

    it('reserve: once the record has expired, a retry under the key is RESERVATION_EXISTS — never a second hold', async () => {
      const short = await makeShortRecordsFixture(); // idempotency records kept 1 s
      try {
        await short.inventory.setStock('p1', 10);
        const first = await short.inventory.reserve('p1', 3, 600, k('hold-x'));
        let retry: unknown;
        do {
          retry = await short.inventory.reserve('p1', 3, 600, k('hold-x')).catch((e) => e);
          if (isReplayed(retry)) await new Promise((resolve) => setTimeout(resolve, 100));
        } while (isReplayed(retry));
        expect(retry).toMatchObject({ code: 'RESERVATION_EXISTS', details: { reservationId: first.id } });
        expect(await short.inventory.availability('p1')).toEqual({ productId: 'p1', available: 7, held: 3 });
      } finally {
        // Its keys go now: a 1 s record expiring later would show up in the next test's whole-keyspace snapshots.
        const keys = (await short.client?.keys(`*{${short.shop}}*`)) ?? [];
        if (keys.length) await short.client!.del(...keys);
        await short.close();
      }
    });

    it('place with reservations: a retry replays the order; the same key naming another reservation is a mismatch', async () => {
      await inventory.setStock('p1', 10);
      const r = await inventory.reserve('p1', 2, 60);
      const order = await orders.place({ userId: 'u1', items: [line('p1', 2, r.id)] }, k('ord-1'));
      const before = await snapshot();
      const again = await orders.place({ userId: 'u1', items: [line('p1', 2, r.id)] }, k('ord-1'));
      expect(again).toEqual(order);
      expect(isReplayed(again)).toBe(true);
      expect(await snapshot()).toEqual(before);
      await expectRefusedUnchanged(() => orders.place({ userId: 'u1', items: [line('p1', 2)] }, k('ord-1')), 'IDEMPOTENCY_KEY_MISMATCH');
    });
  });
}
