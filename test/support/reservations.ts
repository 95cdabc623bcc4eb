import type { Inventory } from '../../src/shop/inventory/inventory.port';
import type { Order, OrderLine, Orders } from '../../src/shop/orders/orders.port';
import type { EventView } from '../../src/events/events.port';
import { prng } from './bank';
import type { Failures } from './shop';

const codeOf = (err: unknown): string => (err as { code?: string }).code ?? String(err);
const count = (failures: Failures, err: unknown) => {
  const code = codeOf(err);
  failures[code] = (failures[code] ?? 0) + 1;
};

export interface ReservationSetup {
  stock: Record<string, number>;
  users: string[];
}

export interface ReservationRun {
  /** Reservations reported created: id → product, quantity, expiry (ms). */
  reserved: Map<string, { productId: string; quantity: number; expires: number }>;
  /** Final transitions as reported to callers: each reservation id, every time it was reported. */
  released: string[];
  consumed: { reservationId: string; orderId: string }[];
  expired: string[];
  placed: Map<string, Order>;
  cancelled: Set<string>;
  restocked: Map<string, number>;
  failures: Failures;
  /** Sweeps whose answer was lost (connection faults, a closing instance): what they expired, if anything, is unreported. */
  sweepFailures: number;
  /** Answers in doubt retried with the same Idempotency-Key (keyed runs). */
  inDoubt: number;
  /** Worker operations that reached a definite answer, in all and per instance that gave it. */
  completed: number;
  completedBy: Map<Instance, number>;
}

export type Instance = { orders: Orders; inventory: Inventory };

/** Answers that say nothing about the effect: retried with the same Idempotency-Key (reliable submission). */
const IN_DOUBT = new Set(['STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN', 'CONFLICT']);

export interface ReservationRunOptions {
  /** Every write carries an Idempotency-Key and is retried with it until its answer is definite. */
  keyed?: boolean;
  /** Runs beside phases 1 and 2 (a CLIENT KILL loop, a restart); awaited before phase 3. */
  chaos?: (run: ReservationRun) => Promise<void>;
  /**
   * Instances closed mid-run (a service restart): `instances` may be changed in place while the run goes on (clients
   * look up their slot for every call), and an error from a retired instance is in doubt.
   */
  retired?: Set<Instance>;
}

/**
 * Reservations racing everything that ends them. Phase 1: `workers` clients run `operations` random reserve
 * (1–3 units, ttl 1 s) / place consuming a random known reservation (whatever its state) / ordinary place /
 * release of a random known reservation / restock / sweep (expireDue, small batches) / cancel. Phase 2, once every
 * reservation made so far has lapsed: four sweepers race the workers, who keep releasing and consuming (mostly
 * lapsed) reservations and making new ones. Phase 3: once those lapsed too, sweep until nothing is due — then
 * every reservation must be in a final state. Clients are spread over the instances.
 */
export async function runReservations(instances: Instance[], setup: ReservationSetup,
  { workers, operations, seed }: { workers: number; operations: number; seed: number },
  { keyed = false, chaos, retired = new Set() }: ReservationRunOptions = {}): Promise<ReservationRun> {
  const random = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const products = Object.keys(setup.stock);
  const run: ReservationRun = {
    reserved: new Map(), released: [], consumed: [], expired: [], placed: new Map(), cancelled: new Set(), restocked: new Map(), failures: {},
    sweepFailures: 0, inDoubt: 0, completed: 0, completedBy: new Map(),
  };
  const ids: string[] = [];
  const runId = `r${seed}x${Math.floor(random() * 1e9)}`;
  let keys = 0;
  const inDoubt = (err: unknown, used: Instance) => IN_DOUBT.has(codeOf(err)) || retired.has(used);
  const served = (instance: Instance) => {
    run.completed += 1;
    run.completedBy.set(instance, (run.completedBy.get(instance) ?? 0) + 1);
  };
  /** One write on the worker's instance: unkeyed once, or keyed and retried with the same key until definite. */
  async function definite<T>(worker: number, op: (instance: Instance, options: { idempotencyKey?: string }) => Promise<T>): Promise<T> {
    const key = `${runId}-${++keys}`;
    for (let attempt = 0; ; attempt++) {
      const instance = at(worker);
      try {
        const result = await op(instance, keyed ? { idempotencyKey: key } : {});
        served(instance);
        return result;
      } catch (err) {
        if (!keyed || !inDoubt(err, instance) || attempt > 500) {
          if (!inDoubt(err, instance)) served(instance);
          throw err;
        }
        run.inDoubt += 1;
        await new Promise((resolve) => setTimeout(resolve, 5 + random() * 20));
      }
    }
  }
  /** A read that rides out connection faults. */
  async function steady<T>(read: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await read();
      } catch (err) {
        if (!IN_DOUBT.has(codeOf(err)) || attempt > 500) throw err;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  }
  const at = (worker: number) => instances[worker % instances.length];

  const reserve = async (worker: number) => {
    const productId = pick(products);
    const quantity = 1 + Math.floor(random() * 3);
    const r = await definite(worker, ({ inventory }, o) => inventory.reserve(productId, quantity, 1, o));
    run.reserved.set(r.id, { productId: r.productId, quantity: r.quantity, expires: Date.parse(r.expiresAt) });
    ids.push(r.id);
  };
  const consume = async (worker: number) => {
    if (!ids.length) return;
    const id = pick(ids);
    const r = run.reserved.get(id)!;
    const lines: OrderLine[] = [{ productId: r.productId, quantity: r.quantity, unitPrice: 5 }];
    const other = products.find((p) => p !== r.productId);
    if (other && random() < 0.3) lines.push({ productId: other, quantity: 1, unitPrice: 7 });
    const command = { userId: pick(setup.users), items: lines.map((line, i) => (i === 0 ? { ...line, reservationId: id } : line)) };
    const order = await definite(worker, ({ orders }, o) => orders.place(command, o));
    run.placed.set(order.id, order);
    run.consumed.push({ reservationId: id, orderId: order.id });
  };
  const release = async (worker: number) => {
    if (!ids.length) return;
    const id = pick(ids);
    const { productId } = run.reserved.get(id)!;
    await definite(worker, ({ inventory }, o) => inventory.release(productId, id, o));
    run.released.push(id);
  };
  const sweep = async (instance: Instance, limit: number) => {
    try {
      const { expired } = await instance.inventory.expireDue(limit);
      run.expired.push(...expired);
      return expired.length;
    } catch (err) {
      // CONFLICT (WATCH attempts exhausted) applied nothing: a definite failure, counted as such.
      if (codeOf(err) === 'CONFLICT' || !inDoubt(err, instance)) throw err;
      run.sweepFailures += 1;
      return 0;
    }
  };

  const attempt = async (op: () => Promise<unknown>) => {
    try {
      await op();
    } catch (err) {
      count(run.failures, err);
    }
  };

  const disorder = chaos?.(run);
  // Phase 1: everything at once.
  let started = 0;
  await Promise.all(Array.from({ length: workers }, async (_, worker) => {
    while (started++ < operations) {
      const dice = random();
      await attempt(async () => {
        if (dice < 0.25) await reserve(worker);
        else if (dice < 0.45) await consume(worker);
        else if (dice < 0.57) {
          const command = { userId: pick(setup.users), items: [{ productId: pick(products), quantity: 1 + Math.floor(random() * 2), unitPrice: 3 }] };
          const order = await definite(worker, ({ orders }, o) => orders.place(command, o));
          run.placed.set(order.id, order);
        } else if (dice < 0.7) await release(worker);
        else if (dice < 0.77) {
          const productId = pick(products);
          const quantity = 1 + Math.floor(random() * 5);
          await definite(worker, ({ inventory }, o) => inventory.restock(productId, quantity, o));
          run.restocked.set(productId, (run.restocked.get(productId) ?? 0) + quantity);
        } else if (dice < 0.92) await sweep(at(worker), 3);
        else {
          const placed = [...run.placed.keys()];
          if (!placed.length) return;
          const id = pick(placed);
          const order = await definite(worker, ({ orders }, o) => orders.cancel(id, o));
          run.cancelled.add(order.id);
        }
      });
    }
  }));

  // Phase 2: every reservation so far has lapsed; sweepers race releases, consumes and new reservations.
  await allLapsed(instances[0].inventory, run, steady);
  let sweeping = 4;
  await Promise.all([
    ...Array.from({ length: 4 }, async (_, s) => {
      for (let empty = 0, n = 0; empty < 2 && n < 500; n++) await attempt(async () => ((await sweep(at(s), 2)) ? (empty = 0) : empty++));
      sweeping--;
    }),
    ...Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; sweeping > 0 || i < 5; i++) {
        const dice = random();
        await attempt(() => (dice < 0.4 ? consume(worker) : dice < 0.8 ? release(worker) : reserve(worker)));
        if (i > 200) break;
      }
    }),
  ]);
  await disorder;

  // Phase 3: the last ones lapse; sweep until nothing is due.
  await allLapsed(instances[0].inventory, run, steady);
  for (let round = 0; round < 1000; round++) {
    try {
      const before = run.sweepFailures;
      if (!(await sweep(instances[0], 50)) && run.sweepFailures === before) break;
    } catch (err) {
      if (codeOf(err) !== 'CONFLICT') throw err;
    }
  }
  return run;
}

/** Until no reservation reported so far shows as held (the server's clock passed the expiry of every held one). */
async function allLapsed(inventory: Inventory, run: ReservationRun, steady: <T>(read: () => Promise<T>) => Promise<T>): Promise<void> {
  for (const [id, r] of [...run.reserved].sort(([, a], [, b]) => b.expires - a.expires)) {
    while ((await steady(() => inventory.getReservation(r.productId, id))).status === 'held') await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The invariants after a reservation run, as a list of violations (empty = sound):
 * - per product: available + held + units in non-cancelled orders = initial + restocked; available >= 0, held >= 0;
 *   and nothing is held any more (every reservation ended);
 * - every reservation ends in exactly one final state: it was reported released, consumed or expired exactly once
 *   in all, its stored status is that one (a consumed one names its order, which holds its line), and the event log
 *   holds exactly one reservation.created and one final event for it.
 */
export async function reservationViolations(orders: Orders, inventory: Inventory, setup: ReservationSetup, run: ReservationRun,
  events: EventView[]): Promise<string[]> {
  const violations: string[] = [];
  const all: Order[] = [];
  for (const userId of setup.users) all.push(...(await orders.listByUser(userId)));
  for (const id of run.placed.keys()) if (!all.some((o) => o.id === id)) violations.push(`order ${id} was placed but is not listed`);

  for (const [productId, initial] of Object.entries(setup.stock)) {
    let level: { available: number; held: number };
    try {
      level = await inventory.availability(productId);
    } catch (err) {
      violations.push(`${productId}: unreadable: ${(err as Error).message}`);
      continue;
    }
    const sold = all.filter((o) => o.status !== 'cancelled').flatMap((o) => o.items).filter((l) => l.productId === productId)
      .reduce((sum, l) => sum + l.quantity, 0);
    const restocked = run.restocked.get(productId) ?? 0;
    if (level.available < 0) violations.push(`${productId}: available ${level.available} < 0`);
    if (level.held < 0) violations.push(`${productId}: held ${level.held} < 0`);
    if (level.held !== 0) violations.push(`${productId}: ${level.held} units still held after every reservation ended`);
    if (level.available + level.held + sold !== initial + restocked) {
      violations.push(`${productId}: available ${level.available} + held ${level.held} + sold ${sold} ≠ initial ${initial} + restocked ${restocked}`);
    }
  }

  const tally = (list: string[]) => list.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>());
  const released = tally(run.released);
  const expired = tally(run.expired);
  const consumed = tally(run.consumed.map((c) => c.reservationId));
  const byReservation = new Map<string, string[]>();
  for (const event of events) {
    const id = (event.data as { reservationId?: string }).reservationId;
    if (id) byReservation.set(id, [...(byReservation.get(id) ?? []), event.type]);
  }
  for (const [id, r] of run.reserved) {
    const outcomes = { released: released.get(id) ?? 0, consumed: consumed.get(id) ?? 0, expired: expired.get(id) ?? 0 };
    const reported = Object.entries(outcomes).filter(([, n]) => n > 0);
    const total = outcomes.released + outcomes.consumed + outcomes.expired;
    const stored = await inventory.getReservation(r.productId, id);
    // A sweep whose answer was lost may have expired reservations nobody heard of: then `expired` needs no report
    // (its events must still show exactly one final transition).
    const unreported = total === 0 && stored.status === 'expired' && run.sweepFailures > 0;
    if (total !== 1 && !unreported) violations.push(`reservation ${id} ended ${total} times (${JSON.stringify(outcomes)})`);
    if (reported.length === 1 && stored.status !== reported[0][0]) violations.push(`reservation ${id} reported ${reported[0][0]}, is ${stored.status}`);
    if (!['released', 'consumed', 'expired'].includes(stored.status)) violations.push(`reservation ${id} is still ${stored.status}`);
    if (stored.status === 'consumed') {
      const order = all.find((o) => o.id === stored.orderId);
      if (!order?.items.some((l) => l.productId === r.productId && l.quantity === r.quantity)) {
        violations.push(`reservation ${id} consumed by ${stored.orderId}, which has no such line`);
      }
    }
    const types = byReservation.get(id) ?? [];
    const finals = types.filter((t) => t !== 'reservation.created');
    if (types.filter((t) => t === 'reservation.created').length !== 1 || finals.length !== 1) {
      violations.push(`reservation ${id}: events ${types.join(', ')}`);
    }
  }
  return violations;
}
