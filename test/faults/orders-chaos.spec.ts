/**
 * Fault injection (issue 4): CLIENT-KILL CHAOS, for the shop. Concurrent workers place 1–3-line orders (and
 * cancel some of the placed ones) through the ORDERS port, each operation under its own idempotency key and
 * retried by its caller with the SAME key until it gets a definite answer (success, or a business error such as
 * OUT_OF_STOCK / ORDER_NOT_CANCELLABLE; STORE_UNAVAILABLE / OUTCOME_UNKNOWN / CONFLICT → short pause, retry),
 * while an admin connection runs `CLIENT KILL TYPE normal SKIPME yes` every 100–300 ms for 1.5 s — killing the
 * shared client and every pooled WATCH connection mid-command.
 *
 * Afterwards (see `violations`): for every product, initial stock = stock + units in non-cancelled orders and
 * stock >= 0; the orders in Redis are exactly the ones named by the keys that ended in success (one each —
 * no order created by an attempt whose answer was lost and then created again by its retry); each order's
 * status is `cancelled` iff exactly one cancel key succeeded on it; users' stats equal the sums over their
 * non-cancelled orders; the pending queue holds exactly the non-cancelled orders, once each; every key replays
 * its first outcome without changing anything; at least one reconnect happened.
 *
 * The checker bites: at the end, one successful placement is applied a second time (what a resend without the
 * idempotency record would do) and one unit of stock is taken without an order, and `violations` must report both.
 */
import 'reflect-metadata';
import { Test, TestingModule } from '@nestjs/testing';
import type Redis from 'ioredis';
import { AtomicError, isReplayed } from '@kernel/core';
import type { AtomicStrategy } from '@kernel/core';
import { REDIS_CLIENT, RedisAtomicModule } from '@kernel/nest';
import { WatchRunner } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { InventoryModule } from '../../src/shop/inventory/inventory.module';
import { INVENTORY, Inventory } from '../../src/shop/inventory/inventory.port';
import { OrdersModule } from '../../src/shop/orders/orders.module';
import { ORDERS, Order, OrderLine, Orders, PlaceOrder } from '../../src/shop/orders/orders.port';
import { sleep, waitFor } from './support';

const CHAOS_MS = 1_500;
/** At least this many kills that closed at least this many connections, whatever the time it takes; at most MAX_KILLS. */
const MIN_KILLS = 4;
const MAX_KILLS = 40;
const WORKERS = 8;
/** Finite stock, small enough that many orders end in OUT_OF_STOCK (a definite answer too). */
const STOCK: Record<string, number> = { p1: 400, p2: 250, p3: 120, p4: 40 };
const PRODUCTS = Object.keys(STOCK);
const USERS = Array.from({ length: 6 }, (_, i) => `u${i}`);
const RETRY = new Set(['STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN', 'CONFLICT']);
const BUSINESS = new Set(['OUT_OF_STOCK', 'ORDER_NOT_CANCELLABLE']);
/** One operation may take this long to reach a definite answer (the chaos lasts CHAOS_MS). */
const OP_BOUND_MS = CHAOS_MS + 30_000; // a safety bound for a definite answer, generous on a loaded machine

let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
});

afterAll(async () => {
  await server?.stop();
});

type Outcome = { order: Order } | { code: string };

interface Op {
  key: string;
  kind: 'place' | 'cancel';
  place?: PlaceOrder;
  cancel?: string;
  outcome?: Outcome;
  /** The definite answer was a replay (after an attempt in doubt whose effect had in fact been applied). */
  replayed?: boolean;
  attempts: number;
}

interface WiredShop {
  orders: Orders;
  inventory: Inventory;
  client: Redis;
  close(): Promise<void>;
}

/** Inventory + Orders wired like production (RedisAtomicModule, InventoryModule, OrdersModule, no HTTP) on one shop. */
async function wireShop(strategy: AtomicStrategy, shop: string): Promise<WiredShop> {
  const moduleRef: TestingModule = await Test.createTestingModule({
    imports: [
      RedisAtomicModule.forRoot({ url: server.url }),
      InventoryModule.forRoot({ strategy, shop, http: false }),
      OrdersModule.forRoot({ strategy, shop, http: false }),
    ],
  }).compile();
  await moduleRef.init();
  return {
    orders: moduleRef.get<Orders>(ORDERS),
    inventory: moduleRef.get<Inventory>(INVENTORY),
    client: moduleRef.get<Redis>(REDIS_CLIENT),
    close: async () => {
      moduleRef.get(WatchRunner).close();
      await moduleRef.close();
    },
  };
}

const random = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function randomOrder(): PlaceOrder {
  const products = [...PRODUCTS].sort(() => Math.random() - 0.5).slice(0, random(1, 3));
  return {
    userId: USERS[random(0, USERS.length - 1)],
    items: products.map((productId): OrderLine => ({ productId, quantity: random(1, 4), unitPrice: random(0, 500) })),
  };
}

/**
 * Every invariant of the shop after the run, as a list of violations (empty = sound). Reads through the port
 * (as a user would) and counts the order hashes in the keyspace directly (an order outside every user's set
 * would escape listByUser).
 */
async function violations(orders: Orders, inventory: Inventory, shop: string, ops: Op[], initialStock = STOCK): Promise<string[]> {
  const found: string[] = [];
  const placed = ops.filter((op) => op.kind === 'place' && op.outcome && 'order' in op.outcome);
  const placedIds = placed.map((op) => (op.outcome as { order: Order }).order.id);
  if (new Set(placedIds).size !== placedIds.length) found.push(`two keys reported the same order id`);

  const all: Order[] = [];
  for (const userId of USERS) {
    const mine = await orders.listByUser(userId);
    all.push(...mine);
    const live = mine.filter((order) => order.status !== 'cancelled');
    const stats = await orders.userStats(userId);
    const spent = live.reduce((sum, order) => sum + order.total, 0);
    if (stats.totalOrders !== live.length || stats.totalSpent !== spent) {
      found.push(`${userId}: stats ${stats.totalOrders}/${stats.totalSpent}, non-cancelled orders ${live.length}/${spent}`);
    }
  }
  const orderKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await admin.scan(cursor, 'MATCH', `ra:{${shop}}:order:*`, 'COUNT', 1000);
    orderKeys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  // the effect of each key exactly once: as many orders as keys that ended in success, and the same ones
  if (orderKeys.length !== placed.length) found.push(`${orderKeys.length} orders in Redis, ${placed.length} keys ended in success`);
  if (all.length !== placed.length) found.push(`${all.length} orders listed, ${placed.length} keys ended in success`);
  const listed = new Map(all.map((order) => [order.id, order]));
  for (const op of placed) {
    const reported = (op.outcome as { order: Order }).order;
    const stored = listed.get(reported.id);
    if (!stored) found.push(`order ${reported.id} (key ${op.key}) was placed but is not listed`);
    else if (stored.userId !== op.place!.userId || JSON.stringify(stored.items) !== JSON.stringify(op.place!.items)) {
      found.push(`order ${reported.id} (key ${op.key}) is stored with other contents`);
    }
  }
  for (const id of listed.keys()) if (!placedIds.includes(id)) found.push(`order ${id} is listed but no key reported it`);

  // cancelled ⇔ exactly one cancel key succeeded on it
  const cancels = new Map<string, number>();
  for (const op of ops) if (op.kind === 'cancel' && op.outcome && 'order' in op.outcome) cancels.set(op.cancel!, (cancels.get(op.cancel!) ?? 0) + 1);
  for (const order of all) {
    const n = cancels.get(order.id) ?? 0;
    if (n > 1 || (order.status === 'cancelled') !== (n === 1)) found.push(`order ${order.id} is ${order.status}, ${n} cancels succeeded`);
    if (order.status !== 'cancelled' && order.status !== 'pending') found.push(`order ${order.id} is ${order.status}: nothing claims here`);
  }

  // stock: initial = current + units in non-cancelled orders, never negative
  for (const [productId, initial] of Object.entries(initialStock)) {
    let stock: number;
    try {
      ({ stock } = await inventory.get(productId));
    } catch (err) {
      found.push(`${productId}: ${(err as Error).message}`); // e.g. below zero: the adapter refuses to read it
      continue;
    }
    const ordered = all.filter((order) => order.status !== 'cancelled').flatMap((order) => order.items)
      .filter((line) => line.productId === productId).reduce((sum, line) => sum + line.quantity, 0);
    if (stock < 0) found.push(`${productId}: stock ${stock} < 0`);
    if (initial !== stock + ordered) found.push(`${productId}: initial ${initial} ≠ stock ${stock} + ordered ${ordered}`);
  }

  // the queue: exactly the pending orders, once each; nothing processing
  const queue = await orders.queue();
  const pending = all.filter((order) => order.status === 'pending').map((order) => order.id).sort();
  if (JSON.stringify([...queue.pending].sort()) !== JSON.stringify(pending)) {
    found.push(`queue pending holds ${queue.pending.length} ids, ${pending.length} orders are pending (or not the same ones)`);
  }
  if (queue.processing.length) found.push(`queue processing holds ${queue.processing.length} ids`);
  return found;
}

describe.each<AtomicStrategy>(['functions', 'transactions'])('orders under CLIENT KILL chaos, strategy %s', (strategy) => {
  const SHOP = `chaos-shop-${strategy}`;
  let wired: WiredShop;

  beforeAll(async () => {
    wired = await wireShop(strategy, SHOP);
  });

  afterAll(async () => {
    await wired?.close();
  });

  it('stock conserved, never oversold, every key applied exactly once, replays intact, and the client reconnected', async () => {
    const { orders, inventory, client } = wired;
    for (const [id, stock] of Object.entries(STOCK)) await inventory.setStock(id, stock);
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    const retries: Record<string, number> = {};
    const ops: Op[] = [];
    const placedIds: string[] = [];

    const attempt = (op: Op): Promise<Order> => (op.kind === 'place'
      ? orders.place(op.place!, { idempotencyKey: op.key })
      : orders.cancel(op.cancel!, { idempotencyKey: op.key }));

    /** Same key until a definite answer. */
    async function definite(op: Op): Promise<void> {
      const started = Date.now();
      for (;;) {
        op.attempts++;
        try {
          const order = await attempt(op);
          op.outcome = { order: plain(order) };
          op.replayed = isReplayed(order);
          return;
        } catch (err) {
          if (!(err instanceof AtomicError)) throw err;
          if (BUSINESS.has(err.code)) {
            op.outcome = { code: err.code };
            op.replayed = err.replayed;
            return;
          }
          if (!RETRY.has(err.code)) throw new Error(`${op.key} (attempt ${op.attempts}): ${err.code} ${err.message}`);
          retries[err.code] = (retries[err.code] ?? 0) + 1;
          if (Date.now() - started > OP_BOUND_MS) throw new Error(`${op.key}: no definite answer after ${op.attempts} attempts`);
          await sleep(random(5, 20));
        }
      }
    }

    let chaos = true;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; chaos; i++) {
        const cancel = placedIds.length > 0 && Math.random() < 0.2;
        const op: Op = cancel
          ? { key: `${strategy}-w${w}-${i}`, kind: 'cancel', cancel: placedIds[random(0, placedIds.length - 1)], attempts: 0 }
          : { key: `${strategy}-w${w}-${i}`, kind: 'place', place: randomOrder(), attempts: 0 };
        ops.push(op);
        await definite(op);
        if (op.kind === 'place' && 'order' in op.outcome!) placedIds.push(op.outcome.order.id);
        await sleep(random(4, 12)); // think time: a few hundred operations per run, not thousands
      }
    });

    let kills = 0;
    let killedConnections = 0;
    const chaosEnd = Date.now() + CHAOS_MS;
    const killer = (async () => {
      // Bounded by kills made, not by time: on a loaded machine a time window may hold too few of them.
      for (let round = 0; round < MAX_KILLS && (Date.now() < chaosEnd || kills < MIN_KILLS || killedConnections < MIN_KILLS); round++) {
        await sleep(random(100, 300));
        killedConnections += Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes'));
        kills++;
      }
    })();

    await killer;
    chaos = false;
    await Promise.all(workers);
    await waitFor(() => client.status === 'ready', 'the shared client to reconnect');

    // ── every op got a definite answer, and the shop is sound ──
    expect(ops.filter((op) => !op.outcome)).toEqual([]);
    expect(await violations(orders, inventory, SHOP, ops)).toEqual([]);

    // ── every key replays its first outcome, and the replays change nothing ──
    const before = await keyspaceSnapshot(admin);
    for (let from = 0; from < ops.length; from += 100) {
      const chunk = ops.slice(from, from + 100);
      const again = await Promise.all(chunk.map((op) => attempt(op).then(
        (order): Outcome & { replayed: boolean } => ({ order: plain(order), replayed: isReplayed(order) }),
        (err: AtomicError) => ({ code: err.code, replayed: err.replayed }))));
      expect(again).toEqual(chunk.map((op) => ({ ...op.outcome!, replayed: true })));
    }
    expect(await keyspaceSnapshot(admin)).toBe(before);

    // ── the chaos did happen ──
    const count = (kind: Op['kind'], what: 'order' | 'code') => ops.filter((op) => op.kind === kind && what in op.outcome!).length;
    const inDoubt = ops.filter((op) => op.attempts > 1).length;
    const replayedAfterDoubt = ops.filter((op) => op.replayed).length;
    const codes: Record<string, number> = {};
    for (const op of ops) if ('code' in op.outcome!) codes[op.outcome.code] = (codes[op.outcome.code] ?? 0) + 1;
    console.log(`[orders chaos ${strategy}] ${ops.length} ops (${count('place', 'order')} placed, ${count('cancel', 'order')} cancelled, ` +
      `business rejections ${JSON.stringify(codes)}), ${kills} CLIENT KILLs closing ${killedConnections} connections, ` +
      `${reconnects} reconnects of the shared client, ${inDoubt} ops retried (${replayedAfterDoubt} ended in a replay of an effect ` +
      `applied by an attempt in doubt), retries by code ${JSON.stringify(retries)}`);
    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(killedConnections).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(reconnects).toBeGreaterThanOrEqual(1);
    if (strategy === 'functions') expect(inDoubt).toBeGreaterThan(0); // every kill cuts the one connection the FCALLs run on
    else expect(killedConnections).toBeGreaterThan(kills); // the pooled WATCH connections were killed too
    expect(ops.filter((op) => op.replayed && op.attempts === 1)).toEqual([]); // a first attempt is never a replay
    expect(count('place', 'order')).toBeGreaterThan(WORKERS);
    expect(codes.OUT_OF_STOCK ?? 0).toBeGreaterThan(0); // stock really ran out: the no-oversell check had teeth

    // ── and the checker bites: a double-applied placement, and stock taken without an order ──
    // (the stock it needs is restocked first, and counted, so that only the double-apply is out of line)
    const twice = ops.find((op) => op.kind === 'place' && 'order' in op.outcome!)!;
    const initial = { ...STOCK };
    for (const { productId, quantity } of twice.place!.items) {
      await inventory.restock(productId, quantity);
      initial[productId] += quantity;
    }
    expect(await violations(orders, inventory, SHOP, ops, initial)).toEqual([]);
    await orders.place(twice.place!); // what a resend without the idempotency record would do: a second order
    const doubled = await violations(orders, inventory, SHOP, ops, initial);
    expect(doubled).toHaveLength(3);
    expect(doubled).toEqual(expect.arrayContaining([
      expect.stringMatching(/^\d+ orders in Redis, \d+ keys ended in success$/),
      expect.stringMatching(/^\d+ orders listed, \d+ keys ended in success$/),
      expect.stringMatching(/is listed but no key reported it$/),
    ]));
    await admin.zincrby(`ra:{${SHOP}}:inventory:stock`, -1, twice.place!.items[0].productId);
    expect((await violations(orders, inventory, SHOP, ops, initial)).some((v) => /initial \d+ ≠ stock|stock of p\d is -1/.test(v))).toBe(true);
  }, 120_000);
});
