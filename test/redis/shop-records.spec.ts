import { idempotentCall, isReplayed } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import type { Inventory } from '../../src/shop/inventory/inventory.port';
import type { Orders } from '../../src/shop/orders/orders.port';
import { shopFixture, ShopFixture, uniqueShop } from '../support/shop-fixture';

/**
 * The shop's idempotency records in Redis: the functions and transactions adapters write the same record format
 * and reply layouts, so either replays the other's records (instances of both strategies may serve one shop
 * during a migration); what is no outcome (a claim of an empty queue, a stale lookup) leaves no record; and a
 * keyed write refused as STORE_CORRUPTED records nothing.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

const line = (productId: string, quantity: number, unitPrice: number) => ({ productId, quantity, unitPrice });

describe('shop idempotency records across strategies', () => {
  let functions: ShopFixture;
  let transactions: ShopFixture;
  beforeEach(async () => {
    const shop = uniqueShop();
    [functions, transactions] = await Promise.all([shopFixture('functions', server, { shop }), shopFixture('transactions', server, { shop })]);
    await functions.inventory.setStock('p1', 100);
    await functions.inventory.setStock('p2', 100);
  });
  afterEach(() => Promise.all([functions.close(), transactions.close()]));

  type Write = (shop: { inventory: Inventory; orders: Orders }, idempotencyKey: string) => Promise<unknown>;
  const WRITES: [string, Write][] = [
    ['setStock', ({ inventory }, k) => inventory.setStock('p3', 7, { idempotencyKey: k })],
    ['restock', ({ inventory }, k) => inventory.restock('p1', 7, { idempotencyKey: k })],
    ['place', ({ orders }, k) => orders.place({ userId: 'u1', items: [line('p1', 3, 250), line('p2', 1, 9)] }, { idempotencyKey: k })],
    ['cancel', ({ orders }, k) => orders.cancel('o1', { idempotencyKey: k })],
    ['claimNext', ({ orders }, k) => orders.claimNext({ idempotencyKey: k })],
    ['complete', ({ orders }, k) => orders.complete('o0', { idempotencyKey: k })],
    ['place (OUT_OF_STOCK)', ({ orders }, k) => orders.place({ userId: 'u1', items: [line('p1', 500, 1)] }, { idempotencyKey: k })],
    ['cancel (ORDER_NOT_CANCELLABLE)', ({ orders }, k) => orders.cancel('o0', { idempotencyKey: k })],
    ['complete (INVALID_TRANSITION)', ({ orders }, k) => orders.complete('o1', { idempotencyKey: k })],
  ];

  describe.each([['functions', 'transactions'], ['transactions', 'functions']])('written by %s, replayed by %s', (writer, replayer) => {
    it.each(WRITES)('%s', async (name, write) => {
      const fixtures: Record<string, ShopFixture> = { functions, transactions };
      await functions.orders.place({ id: 'o0', userId: 'u0', items: [line('p2', 1, 1)] });
      await functions.orders.claimNext(); // o0 is processing
      await functions.orders.place({ id: 'o1', userId: 'u0', items: [line('p2', 2, 1)] });
      const key = `${name} by ${writer}`;
      const first = await write(fixtures[writer], key).catch((e) => e);
      const after = await functions.rawSnapshot!();
      const again = await write(fixtures[replayer], key).catch((e) => e);
      expect(await functions.rawSnapshot!()).toEqual(after);
      if (first instanceof Error) {
        const { code, message, details } = first as Error & { code: string; details: object };
        expect(again).toMatchObject({ code, replayed: true, message, details });
      } else {
        expect(again).toEqual(first);
        expect(isReplayed(again)).toBe(true);
      }
    });
  });
});

describe('what is no outcome leaves no record (lua/orders.lua raises it)', () => {
  let fixture: ShopFixture;
  beforeEach(async () => (fixture = await shopFixture('functions', server)));
  afterEach(() => fixture.close());

  const records = () => fixture.client!.keys(`ra:{${fixture.shop}}:shop-idem:*`);
  const keyed = (name: string, request: unknown[]) => {
    const call = idempotentCall(fixture.shop, name, request, { ttlSeconds: 60 })!;
    return { record: fixture.keys!.record(call.digest), args: [call.fingerprint, call.ttlSeconds] };
  };

  it('a keyed claim of an empty queue raises QUEUE_EMPTY, a stale candidate CLAIM_MOVED: nothing written, no record', async () => {
    const k = fixture.keys!;
    const { record, args } = keyed('claim', ['claimNext']);
    await expect(fixture.client!.call('FCALL', 'orders_claim', 4, k.pending(), k.processing(), k.events, record, ...args, '', 1000))
      .rejects.toThrow(/^QUEUE_EMPTY /);
    await fixture.inventory.setStock('p1', 5);
    await fixture.orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
    const before = await fixture.rawSnapshot!();
    await expect(fixture.client!.call('FCALL', 'orders_claim', 4, k.pending(), k.processing(), k.events, record, ...args, '', 1000))
      .rejects.toThrow(/^CLAIM_MOVED .*"oldest":"o1"/);
    expect(await fixture.rawSnapshot!()).toEqual(before);
    expect(await records()).toEqual([]);
  });

  it('a cancel sent with no user (the lookup found no order) of an order that exists raises ORDER_LOOKUP_STALE', async () => {
    const k = fixture.keys!;
    await fixture.inventory.setStock('p1', 5);
    await fixture.orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 1, 1)] });
    const { record, args } = keyed('cancel', ['cancel', 'o1']);
    const before = await fixture.rawSnapshot!();
    await expect(fixture.client!.call('FCALL', 'orders_cancel', 6, k.stock(), k.order('o1'), k.order('o1'), k.pending(), k.events,
      record, ...args, 'o1', '', 1000))
      .rejects.toThrow(/^ORDER_LOOKUP_STALE /);
    expect(await fixture.rawSnapshot!()).toEqual(before);
  });

  it('the adapter looks the user up again after ORDER_LOOKUP_STALE, and the keyed cancel applies once', async () => {
    await fixture.inventory.setStock('p1', 5);
    await fixture.orders.place({ id: 'o1', userId: 'u1', items: [line('p1', 2, 1)] });
    // The first lookup misses the order, as if it had been placed just after the lookup.
    const adapter = (fixture.orders as unknown as { inner: { getMany: (ids: string[]) => Promise<unknown[]> } }).inner;
    const lookup = jest.spyOn(adapter, 'getMany').mockResolvedValueOnce([null]);
    const cancelled = await fixture.orders.cancel('o1', { idempotencyKey: 'stale' });
    expect(cancelled).toMatchObject({ id: 'o1', status: 'cancelled' });
    expect(lookup).toHaveBeenCalledTimes(2);
    await expect(fixture.orders.cancel('o1', { idempotencyKey: 'stale' })).resolves.toEqual(cancelled);
    await expect(fixture.inventory.get('p1')).resolves.toEqual({ productId: 'p1', stock: 5 });
  });
});

describe.each(['functions', 'transactions'] as const)('a keyed write refused as STORE_CORRUPTED records nothing — %s', (strategy) => {
  let fixture: ShopFixture;
  beforeEach(async () => (fixture = await shopFixture(strategy, server)));
  afterEach(() => fixture.close());

  it('setStock and restock on a stock key of another type; place on a pending queue of another type', async () => {
    const client = fixture.client!;
    await client.set(fixture.keys!.stock(), 'x');
    await expect(fixture.inventory.setStock('p1', 1, { idempotencyKey: 'k1' })).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await expect(fixture.inventory.restock('p1', 1, { idempotencyKey: 'k2' })).rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    await client.del(fixture.keys!.stock());
    await fixture.inventory.setStock('p1', 5);
    await client.set(fixture.keys!.pending(), 'x');
    const before = await fixture.rawSnapshot!();
    await expect(fixture.orders.place({ userId: 'u1', items: [line('p1', 1, 1)] }, { idempotencyKey: 'k3' }))
      .rejects.toMatchObject({ code: 'STORE_CORRUPTED' });
    expect(await fixture.rawSnapshot!()).toEqual(before);
    expect(await client.keys(`ra:{${fixture.shop}}:shop-idem:*`)).toEqual([]);
    // Repaired, the same keys apply (nothing was recorded under them).
    await client.del(fixture.keys!.pending());
    await expect(fixture.inventory.setStock('p1', 1, { idempotencyKey: 'k1' })).resolves.toEqual({ productId: 'p1', stock: 1 });
    await expect(fixture.orders.place({ userId: 'u1', items: [line('p1', 1, 1)] }, { idempotencyKey: 'k3' })).resolves.toMatchObject({ status: 'pending' });
  });
});
