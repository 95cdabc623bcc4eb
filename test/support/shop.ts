import type { Inventory } from '../../src/shop/inventory/inventory.port';
import type { Order, OrderLine, Orders } from '../../src/shop/orders/orders.port';
import { prng } from './bank';

/** Failures by code; which ones are expected is the test's call. */
export type Failures = Record<string, number>;

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? String(err);
const count = (failures: Failures, err: unknown) => {
  const code = codeOf(err);
  failures[code] = (failures[code] ?? 0) + 1;
};

/**
 * A product's stock, or a violation: the real adapters refuse to read a stock that is not an integer in
 * [0, 2^53) — a negative one, left by an oversell, among them — with STORE_CORRUPTED naming the value.
 */
async function readStock(inventory: Inventory, productId: string): Promise<number | string> {
  try {
    return (await inventory.get(productId)).stock;
  } catch (err) {
    if (codeOf(err) !== 'STORE_CORRUPTED') throw err;
    return `${productId}: stock is unreadable: ${(err as Error).message}`;
  }
}

// ───────────────────────────── oversell ─────────────────────────────

export interface OversellRun {
  placed: Order[];
  failures: Failures;
}

/** `orders` one-unit orders for one product, all issued at once, from `users` users, spread over the instances. */
export async function runOversell(instances: Orders[], productId: string, { orders, users }: { orders: number; users: number }):
  Promise<OversellRun> {
  const run: OversellRun = { placed: [], failures: {} };
  await Promise.all(Array.from({ length: orders }, async (_, i) => {
    const line: OrderLine = { productId, quantity: 1, unitPrice: 100 + (i % 7) };
    try {
      run.placed.push(await instances[i % instances.length].place({ userId: `user${i % users}`, items: [line] }));
    } catch (err) {
      count(run.failures, err);
    }
  }));
  return run;
}

/**
 * After an oversell run: stock = initial − placed and never negative, every user's order set and stats agree
 * with the orders reported placed, and the pending queue holds exactly those orders (each once).
 */
export async function oversellViolations(orders: Orders, inventory: Inventory, productId: string, initial: number,
  run: OversellRun, users: number): Promise<string[]> {
  const violations: string[] = [];
  const stock = await readStock(inventory, productId);
  if (typeof stock === 'string') return [stock];
  if (stock !== initial - run.placed.length) violations.push(`stock ${stock}, but ${initial} − ${run.placed.length} placed = ${initial - run.placed.length}`);
  if (run.placed.length > initial) violations.push(`${run.placed.length} orders placed for ${initial} units`);
  for (let u = 0; u < users; u++) {
    const userId = `user${u}`;
    const mine = run.placed.filter((order) => order.userId === userId);
    const listed = await orders.listByUser(userId);
    const ids = (list: Order[]) => list.map((order) => order.id).sort();
    if (JSON.stringify(ids(listed)) !== JSON.stringify(ids(mine))) violations.push(`${userId}: lists ${ids(listed)}, placed ${ids(mine)}`);
    const stats = await orders.userStats(userId);
    const spent = mine.reduce((sum, order) => sum + order.total, 0);
    if (stats.totalOrders !== mine.length || stats.totalSpent !== spent) {
      violations.push(`${userId}: stats ${stats.totalOrders}/${stats.totalSpent}, placed ${mine.length}/${spent}`);
    }
  }
  const queue = await orders.queue();
  const placedIds = run.placed.map((order) => order.id).sort();
  if (JSON.stringify([...queue.pending].sort()) !== JSON.stringify(placedIds)) {
    violations.push(`the queue holds ${queue.pending.length} orders (${new Set(queue.pending).size} distinct), ${placedIds.length} were placed`);
  }
  if (queue.processing.length) violations.push(`${queue.processing.length} orders processing, none was claimed`);
  return violations;
}

// ───────────────────────────── mixed workload ─────────────────────────────

export interface MixedSetup {
  /** Hot products and their initial stock. */
  stock: Record<string, number>;
  users: string[];
}

export interface MixedRun {
  /** Orders reported placed, by id. */
  placed: Map<string, Order>;
  /** Units reported restocked, by product. */
  restocked: Map<string, number>;
  /** Successful restock calls, and claims that found nothing pending (each is one EXEC in the transactions adapter). */
  restocks: number;
  emptyClaims: number;
  cancelled: Set<string>;
  claimed: Set<string>;
  completed: Set<string>;
  failures: Failures;
}

/**
 * `workers` concurrent clients run `operations` random place / cancel / restock / claim / complete on a few hot
 * products (orders of 1–3 lines, so many hit OUT_OF_STOCK; cancels and completes of random orders, so many are
 * invalid transitions). Workers are spread over the instances (app instances on one Redis).
 */
export async function runMixed(instances: { orders: Orders; inventory: Inventory }[], setup: MixedSetup,
  { workers, operations, seed }: { workers: number; operations: number; seed: number }): Promise<MixedRun> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const products = Object.keys(setup.stock);
  const run: MixedRun = {
    placed: new Map(), restocked: new Map(), restocks: 0, emptyClaims: 0, cancelled: new Set(), claimed: new Set(), completed: new Set(), failures: {},
  };
  const known: string[] = [];
  let started = 0;
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    const { orders, inventory } = instances[worker % instances.length];
    while (started++ < operations) {
      const dice = random();
      try {
        if (dice < 0.45) {
          const lines = shuffle(products, random).slice(0, 1 + Math.floor(random() * 3))
            .map((productId): OrderLine => ({ productId, quantity: 1 + Math.floor(random() * 4), unitPrice: Math.floor(random() * 500) }));
          const order = await orders.place({ userId: pick(setup.users), items: lines });
          run.placed.set(order.id, order);
          known.push(order.id);
        } else if (dice < 0.6) {
          if (!known.length) continue;
          const order = await orders.cancel(pick(known));
          run.cancelled.add(order.id);
        } else if (dice < 0.7) {
          const productId = pick(products);
          const quantity = 1 + Math.floor(random() * 10);
          await inventory.restock(productId, quantity);
          run.restocked.set(productId, (run.restocked.get(productId) ?? 0) + quantity);
          run.restocks++;
        } else if (dice < 0.85) {
          const order = await orders.claimNext();
          if (order) run.claimed.add(order.id);
          else run.emptyClaims++;
        } else {
          const claimed = [...run.claimed];
          if (!claimed.length) continue;
          const order = await orders.complete(random() < 0.8 ? pick(claimed) : pick(known));
          run.completed.add(order.id);
        }
      } catch (err) {
        count(run.failures, err);
      }
    }
  }));
  return run;
}

function shuffle<T>(list: readonly T[], random: () => number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/**
 * The shop's invariants after a mixed run, as a list of violations (empty = sound):
 * - for every product: initial stock + restocks = stock + units in non-cancelled orders, and stock >= 0;
 * - every user's stats equal the count and sum over their non-cancelled orders;
 * - the users' order sets hold exactly the orders reported placed (none lost, none invented);
 * - every order is in exactly one state: pending ⇔ once in the pending list, processing ⇔ once in the
 *   processing list, completed / cancelled ⇔ in neither;
 * - every reported cancel / claim / complete is reflected in the order's status.
 */
export async function mixedViolations(orders: Orders, inventory: Inventory, setup: MixedSetup, run: MixedRun): Promise<string[]> {
  const violations: string[] = [];
  const all: Order[] = [];
  for (const userId of setup.users) {
    const mine = await orders.listByUser(userId);
    all.push(...mine);
    const live = mine.filter((order) => order.status !== 'cancelled');
    const stats = await orders.userStats(userId);
    const spent = live.reduce((sum, order) => sum + order.total, 0);
    if (stats.totalOrders !== live.length || stats.totalSpent !== spent) {
      violations.push(`${userId}: stats ${stats.totalOrders}/${stats.totalSpent}, non-cancelled orders ${live.length}/${spent}`);
    }
  }
  const listed = new Set(all.map((order) => order.id));
  for (const id of run.placed.keys()) if (!listed.has(id)) violations.push(`order ${id} was placed but is not listed`);
  for (const id of listed) if (!run.placed.has(id)) violations.push(`order ${id} is listed but was never reported placed`);

  for (const [productId, initial] of Object.entries(setup.stock)) {
    const stock = await readStock(inventory, productId);
    if (typeof stock === 'string') {
      violations.push(stock);
      continue;
    }
    const inOrders = all.filter((order) => order.status !== 'cancelled')
      .flatMap((order) => order.items).filter((line) => line.productId === productId)
      .reduce((sum, line) => sum + line.quantity, 0);
    const restocked = run.restocked.get(productId) ?? 0;
    if (initial + restocked !== stock + inOrders) {
      violations.push(`${productId}: initial ${initial} + restocked ${restocked} ≠ stock ${stock} + ordered ${inOrders}`);
    }
  }

  const queue = await orders.queue();
  const occurrences = (list: string[], id: string) => list.filter((x) => x === id).length;
  for (const order of all) {
    const expected = { pending: [1, 0], processing: [0, 1], completed: [0, 0], cancelled: [0, 0] }[order.status];
    const actual = [occurrences(queue.pending, order.id), occurrences(queue.processing, order.id)];
    if (actual[0] !== expected[0] || actual[1] !== expected[1]) {
      violations.push(`order ${order.id} is ${order.status} but ${actual[0]}× pending, ${actual[1]}× processing`);
    }
  }
  for (const id of [...queue.pending, ...queue.processing]) if (!listed.has(id)) violations.push(`queue holds unknown order ${id}`);

  const status = new Map(all.map((order) => [order.id, order.status]));
  for (const id of run.cancelled) if (status.get(id) !== 'cancelled') violations.push(`order ${id} reported cancelled, is ${status.get(id)}`);
  for (const id of run.completed) if (status.get(id) !== 'completed') violations.push(`order ${id} reported completed, is ${status.get(id)}`);
  for (const id of run.claimed) {
    if (!['processing', 'completed'].includes(status.get(id)!)) violations.push(`order ${id} reported claimed, is ${status.get(id)}`);
  }
  return violations;
}
