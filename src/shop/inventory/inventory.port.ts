/**
 * The Inventory of one shop: each product's stock, an integer number of units in [0, Number.MAX_SAFE_INTEGER].
 * `stock` is the AVAILABLE stock — units for sale; units held by live reservations are not in it (they are
 * `held`, see `availability`), so ordinary orders and low-stock queries see only what can really be sold.
 * Every operation is atomic. Failures are `AtomicError`s whose `code` is an InventoryErrorCode or a kernel code
 * (VALIDATION_FAILED, CONFLICT, STORE_UNAVAILABLE, OUTCOME_UNKNOWN, STORE_CORRUPTED).
 */
export const INVENTORY = Symbol('INVENTORY');

export interface Inventory {
  /** Creates the product or overwrites its stock (>= 0). */
  setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel>;
  /** Adds `quantity` (> 0) to an existing product. PRODUCT_NOT_FOUND, STOCK_LIMIT_EXCEEDED */
  restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel>;
  /** PRODUCT_NOT_FOUND */
  get(productId: string): Promise<StockLevel>;
  /**
   * Products whose stock is strictly below `below` (>= 0), lowest stock first, ties by product id (byte order),
   * at most `limit` (1..1000, default 100) of them.
   */
  lowStock(below: number, limit?: number): Promise<StockLevel[]>;

  // ── Stock reservations: held → released | consumed (by an order, see Orders.place) | expired ──
  /**
   * Holds `quantity` (> 0) units of the available stock for `ttlSeconds` (1..604800, server clock): they leave
   * `stock` and count as `held` until released, consumed by an order or expired. The id is derived from the
   * idempotency key when there is one (a retry names the same reservation), else random.
   * PRODUCT_NOT_FOUND, OUT_OF_STOCK (`available` < quantity), RESERVATION_EXISTS
   */
  reserve(productId: string, quantity: number, ttlSeconds: number, options?: WriteOptions): Promise<Reservation>;
  /**
   * Gives a held reservation up early: its units back to the stock. RESERVATION_NOT_FOUND,
   * RESERVATION_PRODUCT_MISMATCH (it holds another product), RESERVATION_RELEASED / _CONSUMED / _EXPIRED,
   * STOCK_LIMIT_EXCEEDED
   */
  release(productId: string, reservationId: string, options?: WriteOptions): Promise<Reservation>;
  /** One reservation; a held one past its expiry shows as `expired`. RESERVATION_NOT_FOUND, RESERVATION_PRODUCT_MISMATCH */
  getReservation(productId: string, reservationId: string): Promise<Reservation>;
  /** Available and held units of a product. PRODUCT_NOT_FOUND */
  availability(productId: string): Promise<Availability>;
  /**
   * The sweeper's step: expires up to `limit` (1..1000, default 100) held reservations whose time is up, oldest
   * deadline first, giving their units back. Safe to run from every instance at once and again: each reservation
   * is re-checked atomically, so none is expired twice. A held reservation past its expiry is already treated as
   * expired by every operation that touches it; this is what returns its units.
   */
  expireDue(limit?: number): Promise<SweepResult>;
  /**
   * Held reservations, soonest expiry first (ties by id), at most `limit` (1..1000, default 100); one past its expiry
   * that no sweep expired yet shows `expired`. A read for operators (the board): each reservation is read atomically,
   * the list is not one snapshot.
   */
  listHeld(limit?: number): Promise<Reservation[]>;
}

export type InventoryErrorCode = 'PRODUCT_NOT_FOUND' | 'STOCK_LIMIT_EXCEEDED' | 'OUT_OF_STOCK'
  | 'RESERVATION_NOT_FOUND' | 'RESERVATION_EXISTS' | 'RESERVATION_PRODUCT_MISMATCH'
  | 'RESERVATION_RELEASED' | 'RESERVATION_CONSUMED' | 'RESERVATION_EXPIRED';

/** The same options as every write of this library (repeated here: a port imports nothing). */
export interface WriteOptions {
  /**
   * 1–255 printable ASCII. The first outcome under a key — result or business failure — is stored in the same
   * atomic step as the effect and replayed to every retry (the replay is marked: `isReplayed(result)`,
   * `error.replayed`); the same key with a different request fails with IDEMPOTENCY_KEY_MISMATCH. Keys are per
   * shop and shared by Inventory and Orders: a key used for a restock cannot be reused for an order.
   */
  idempotencyKey?: string;
}

export interface StockLevel {
  productId: string;
  stock: number;
}

export type ReservationStatus = 'held' | 'released' | 'consumed' | 'expired';

export interface Reservation {
  id: string;
  productId: string;
  quantity: number;
  status: ReservationStatus;
  /** Server time (ISO 8601). */
  createdAt: string;
  expiresAt: string;
  /** The order that consumed it, once consumed. */
  orderId?: string;
}

export interface Availability {
  productId: string;
  /** Units for sale: the product's `stock`. */
  available: number;
  /** Units held by live reservations (including ones past expiry that the sweeper has not expired yet). */
  held: number;
}

export interface SweepResult {
  /** Ids of the reservations this call expired. */
  expired: string[];
}
