import { AtomicError, FunctionLibrary, KernelErrorCode, KeyLocks } from '../../../libs/redis-atomic/src';
import type { OrderKeys } from '../keys';
import { byCreation, orderNotFound, validPlace } from '../order-rules';
import type { Order, OrderQueue, Orders, PlaceOrder, UserStats } from '../orders.port';
import { corrupted, decodeOrder, decodeQueue, decodeStats, encodeItems } from './redis-replies';

/** Claims that find their candidate gone (another instance claimed it) retry with the new oldest, this often. */
const MAX_CLAIM_ATTEMPTS = 50;

/**
 * Every change is one FCALL of lua/orders.lua, atomic on the server across stock, order, user set, stats and
 * queue. Every key an FCALL touches is declared in KEYS, so where a key depends on stored data the adapter
 * looks it up first with a read-only call:
 * - cancel looks up the order's user (for the stats key): an order's user never changes, so the lookup cannot
 *   go stale; the function re-checks it anyway;
 * - claimNext peeks at the oldest pending id (for the order key); the function claims it only if it is still
 *   the oldest, else answers with the one that is and we retry. Claims of this process queue up in-process
 *   (KeyLocks), so only other instances can make a candidate go stale.
 */
export class RedisFunctionsOrders implements Orders {
  private readonly claims = new KeyLocks();

  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: OrderKeys,
  ) {}

  async place(cmd: PlaceOrder): Promise<Order> {
    const { id, userId, items, total } = validPlace(cmd);
    const k = this.keys;
    const created = (await this.lib.call('place',
      [k.stock(), k.order(id), k.userOrders(userId), k.userStats(userId), k.pending()],
      [id, userId, total, encodeItems(items), ...items.flatMap((line) => [line.productId, line.quantity])])) as number;
    return { id, userId, items, total, status: 'pending', createdAt: new Date(created).toISOString() };
  }

  async cancel(orderId: string): Promise<Order> {
    const { userId } = await this.get(orderId);
    const k = this.keys;
    const fields = (await this.lib.call('cancel', [k.stock(), k.order(orderId), k.userStats(userId), k.pending()],
      [orderId, userId])) as unknown[];
    return decodeOrder(k.order(orderId), orderId, fields)!;
  }

  async claimNext(): Promise<Order | null> {
    const release = await this.claims.acquire([this.keys.pending()]);
    try {
      let candidate = (await this.lib.callReadOnly('peek', [this.keys.pending()])) as string | null;
      for (let attempt = 1; candidate !== null; attempt++) {
        if (attempt > MAX_CLAIM_ATTEMPTS) {
          throw new AtomicError(KernelErrorCode.CONFLICT, `gave up after ${MAX_CLAIM_ATTEMPTS} attempts: other workers kept claiming first`);
        }
        const key = this.keys.order(candidate);
        const [outcome, ...rest] = (await this.lib.call('claim', [this.keys.pending(), this.keys.processing(), key],
          [candidate])) as unknown[];
        if (outcome === 'claimed') return decodeOrder(key, candidate, rest)!;
        if (outcome === 'empty') return null;
        if (outcome !== 'moved') throw corrupted(this.keys.pending(), `unexpected claim reply ${String(outcome)}`);
        candidate = rest[0] as string;
      }
      return null;
    } finally {
      release();
    }
  }

  async complete(orderId: string): Promise<Order> {
    const key = this.keys.order(orderId);
    return decodeOrder(key, orderId, (await this.lib.call('complete', [key, this.keys.processing()], [orderId])) as unknown[])!;
  }

  async get(orderId: string): Promise<Order> {
    const [order] = await this.getMany([orderId]);
    if (!order) throw orderNotFound(orderId);
    return order;
  }

  async listByUser(userId: string): Promise<Order[]> {
    const ids = (await this.lib.callReadOnly('user_orders', [this.keys.userOrders(userId)])) as string[];
    const orders = await this.getMany(ids);
    return orders.filter((order): order is Order => order !== null).sort(byCreation);
  }

  async userStats(userId: string): Promise<UserStats> {
    const key = this.keys.userStats(userId);
    return decodeStats(key, userId, (await this.lib.callReadOnly('user_stats', [key])) as unknown[]);
  }

  async queue(): Promise<OrderQueue> {
    const [count, ...ids] = (await this.lib.callReadOnly('queue', [this.keys.pending(), this.keys.processing()])) as
      [number, ...string[]];
    return decodeQueue(ids.slice(0, count), ids.slice(count));
  }

  private async getMany(ids: readonly string[]): Promise<(Order | null)[]> {
    if (ids.length === 0) return [];
    const keys = ids.map((id) => this.keys.order(id));
    const flat = (await this.lib.callReadOnly('get', keys)) as unknown[];
    return ids.map((id, i) => decodeOrder(keys[i], id, flat.slice(5 * i, 5 * i + 5)));
  }
}
