/**
 * The Inventory of one shop: each product's stock, an integer number of units in [0, Number.MAX_SAFE_INTEGER].
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
}

export type InventoryErrorCode = 'PRODUCT_NOT_FOUND' | 'STOCK_LIMIT_EXCEEDED';

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
