/**
 * Orders of one shop, placed against its Inventory: each operation is one atomic step across stock, the order,
 * the user's order set and stats, and the processing queue. Prices and totals are integers in minor units
 * (cents), quantities integer units, all within Number.MAX_SAFE_INTEGER. Failures are `AtomicError`s whose
 * `code` is an OrdersErrorCode or a kernel code (VALIDATION_FAILED, CONFLICT, STORE_UNAVAILABLE, …).
 */
export const ORDERS = Symbol('ORDERS');

export interface Orders {
  /**
   * Checks every line's stock, then decrements it, writes the order (`pending`), adds it to the user's orders
   * and stats and queues it — all or nothing. At most 100 lines, no product twice. No `id` → one is generated:
   * derived from the idempotency key when there is one (so a retry names the same order — and, once the record
   * has expired, is refused with ORDER_EXISTS rather than placed twice), else random.
   * ORDER_EXISTS, PRODUCT_NOT_FOUND, OUT_OF_STOCK (first failing line: `index`, `productId`), STATS_LIMIT_EXCEEDED
   *
   * A line may name a stock reservation (Inventory.reserve) of its product: it then takes the units that
   * reservation holds — exactly its quantity — instead of available stock, and the reservation becomes
   * `consumed` in the same atomic step; the other lines still need available stock. Refused (first failing line,
   * `index`): RESERVATION_NOT_FOUND (none in this shop — reservations of another shop are not found either),
   * RESERVATION_PRODUCT_MISMATCH, RESERVATION_RELEASED / _CONSUMED / _EXPIRED (a held one past its expiry is
   * expired), RESERVATION_QUANTITY_MISMATCH.
   */
  place(cmd: PlaceOrder, options?: WriteOptions): Promise<Order>;
  /** `pending` → `cancelled`: stock given back, stats reduced, off the queue. ORDER_NOT_FOUND, ORDER_NOT_CANCELLABLE, STOCK_LIMIT_EXCEEDED */
  cancel(orderId: string, options?: WriteOptions): Promise<Order>;
  /**
   * Moves the oldest pending order to the processing list (`processing`); null when none is pending. With an
   * idempotency key a retry replays the same claimed order. A claim that found nothing pending is not recorded
   * (it had no effect, and workers poll empty queues often): a retry under that key claims whatever is pending then.
   */
  claimNext(options?: WriteOptions): Promise<Order | null>;
  /** `processing` → `completed`, off the processing list. ORDER_NOT_FOUND, INVALID_TRANSITION */
  complete(orderId: string, options?: WriteOptions): Promise<Order>;
  /**
   * `processing` → `pending`: a claim its worker left (crashed) goes back to the queue, first in line for the next
   * claim (an operator's action: the board). ORDER_NOT_FOUND, INVALID_TRANSITION (not processing)
   */
  requeue(orderId: string, options?: WriteOptions): Promise<Order>;
  /** ORDER_NOT_FOUND */
  get(orderId: string): Promise<Order>;
  /** Every order of the user, oldest first (cancelled ones included); [] for an unknown user. */
  listByUser(userId: string): Promise<Order[]>;
  /** Counts and sums over the user's non-cancelled orders; zeros for an unknown user. */
  userStats(userId: string): Promise<UserStats>;
  /** The queue's two lists, oldest first: claims of a crashed worker stay visible under `processing`. */
  queue(): Promise<OrderQueue>;
}

export type OrdersErrorCode =
  | 'ORDER_EXISTS' | 'ORDER_NOT_FOUND' | 'ORDER_NOT_CANCELLABLE' | 'INVALID_TRANSITION'
  | 'PRODUCT_NOT_FOUND' | 'OUT_OF_STOCK' | 'STOCK_LIMIT_EXCEEDED' | 'STATS_LIMIT_EXCEEDED'
  | 'RESERVATION_NOT_FOUND' | 'RESERVATION_PRODUCT_MISMATCH' | 'RESERVATION_QUANTITY_MISMATCH'
  | 'RESERVATION_RELEASED' | 'RESERVATION_CONSUMED' | 'RESERVATION_EXPIRED';

/** The same options as every write of this library (repeated here: a port imports nothing). */
export interface WriteOptions {
  /**
   * 1–255 printable ASCII. The first outcome under a key — result or business failure — is stored in the same
   * atomic step as the effect and replayed to every retry (the replay is marked: `isReplayed(result)`,
   * `error.replayed`); the same key with a different request fails with IDEMPOTENCY_KEY_MISMATCH. Keys are per
   * shop and shared by Orders and Inventory: a key used for an order cannot be reused for a restock.
   */
  idempotencyKey?: string;
}

export interface PlaceOrder {
  /** Must match the id allowlist; generated when absent (see `place`). */
  id?: string;
  userId: string;
  /** 1..100 lines, each product at most once. */
  items: PlaceOrderLine[];
}

export interface PlaceOrderLine extends OrderLine {
  /** A held reservation of this product and exactly this quantity, consumed by the order (see `place`). Each at most once. */
  reservationId?: string;
}

export interface OrderLine {
  productId: string;
  /** > 0 */
  quantity: number;
  /** >= 0, minor units */
  unitPrice: number;
}

export type OrderStatus = 'pending' | 'processing' | 'completed' | 'cancelled';

export interface Order {
  id: string;
  userId: string;
  items: OrderLine[];
  /** Sum of quantity × unitPrice, minor units. */
  total: number;
  status: OrderStatus;
  /** Server time of placement (ISO 8601). */
  createdAt: string;
}

export interface UserStats {
  userId: string;
  totalOrders: number;
  totalSpent: number;
}

export interface OrderQueue {
  pending: string[];
  processing: string[];
}
