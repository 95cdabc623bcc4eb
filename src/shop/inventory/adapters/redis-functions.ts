import { IdempotencyOptions, idempotentCall, IdempotentCall } from '@kernel/core';
import { FunctionLibrary, idempotentFcall, RedisClient } from '@kernel/redis';
import { AtomicError, KernelErrorCode } from '@kernel/core';
import type { Availability, Inventory, Reservation, StockLevel, SweepResult, WriteOptions } from '../inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, DEFAULT_SWEEP, newReservationId, requestOf, toReservation } from '../inventory-rules';
import type { InventoryKeys } from '../keys';
import { listHeldFromIndex } from './held-index';
import { decodeLevels, decodeReservation, toLevel } from './redis-replies';

/**
 * Every operation is one FCALL of lua/inventory.lua (reads with FCALL_RO): checks, writes and the idempotency
 * record run atomically on the server, in one round trip, and business failures come back as typed error codes.
 */
export class RedisFunctionsInventory implements Inventory {
  constructor(
    private readonly lib: FunctionLibrary,
    private readonly keys: InventoryKeys,
    private readonly idempotency: IdempotencyOptions,
    private readonly eventsMaxLen: number,
    /** Plain reads (listHeld: the deadline index and each reservation's product). */
    private readonly client?: RedisClient,
  ) {}

  setStock(productId: string, stock: number, options?: WriteOptions): Promise<StockLevel> {
    return this.write('set_stock', this.call(options, requestOf.setStock(productId, stock)), [productId, stock],
      (values) => toLevel(productId, values));
  }

  restock(productId: string, quantity: number, options?: WriteOptions): Promise<StockLevel> {
    return this.write('restock', this.call(options, requestOf.restock(productId, quantity)), [productId, quantity],
      (values) => toLevel(productId, values));
  }

  async get(productId: string): Promise<StockLevel> {
    return { productId, stock: (await this.lib.callReadOnly('get', [this.keys.stock()], [productId])) as number };
  }

  async lowStock(below: number, limit = DEFAULT_LOW_STOCK_PAGE): Promise<StockLevel[]> {
    const rows = (await this.lib.callReadOnly('low_stock', [this.keys.stock()], [below, limit])) as unknown[];
    return decodeLevels(this.keys.stock(), rows);
  }

  reserve(productId: string, quantity: number, ttlSeconds: number, options?: WriteOptions): Promise<Reservation> {
    const call = this.call(options, requestOf.reserve(productId, quantity, ttlSeconds));
    const id = newReservationId(call);
    const k = this.keys;
    return idempotentFcall(this.lib, 'reserve', {
      call, recordKey: (digest) => k.record(digest), keys: [k.stock(), k.held(), k.deadlines(), k.reservation(id), k.events],
      args: [productId, quantity, ttlSeconds, id, this.eventsMaxLen], decode: (values) => this.reservation(id, values),
    });
  }

  release(productId: string, reservationId: string, options?: WriteOptions): Promise<Reservation> {
    const k = this.keys;
    return idempotentFcall(this.lib, 'release', {
      call: this.call(options, requestOf.release(productId, reservationId)), recordKey: (digest) => k.record(digest),
      keys: [k.stock(), k.held(), k.deadlines(), k.reservation(reservationId), k.events],
      args: [productId, reservationId, this.eventsMaxLen], decode: (values) => this.reservation(reservationId, values),
    });
  }

  async getReservation(productId: string, reservationId: string): Promise<Reservation> {
    const values = (await this.lib.callReadOnly('reservation', [this.keys.reservation(reservationId)], [productId, reservationId])) as unknown[];
    return this.reservation(reservationId, values);
  }

  async availability(productId: string): Promise<Availability> {
    const [available, held] = (await this.lib.callReadOnly('availability', [this.keys.stock(), this.keys.held()], [productId])) as number[];
    return { productId, available, held };
  }

  listHeld(limit = DEFAULT_SWEEP): Promise<Reservation[]> {
    return listHeldFromIndex(this.client!, this.keys, limit, (productId, id) => this.getReservation(productId, id));
  }


  /** Two calls: which reservations are due (a read), then one FCALL that re-checks and expires each of them. */
  async expireDue(limit = DEFAULT_SWEEP): Promise<SweepResult> {
    const k = this.keys;
    const ids = (await this.lib.callReadOnly('due', [k.deadlines()], [limit])) as string[];
    if (ids.length === 0) return { expired: [] };
    const [, , ...expired] = (await this.lib.call('expire_due', [k.stock(), k.held(), k.deadlines(), k.events, ...ids.map((id) => k.reservation(id))],
      ['', 0, this.eventsMaxLen, ...ids])) as [number, number, ...string[]]; // no idempotency key: { replayed 0, count, ids… }
    return { expired };
  }

  /** reservation_reply's values (the status already as seen on the server clock). */
  private reservation(id: string, values: unknown[]): Reservation {
    const key = this.keys.reservation(id);
    const r = decodeReservation(key, values);
    if (!r) throw new AtomicError(KernelErrorCode.STORE_CORRUPTED, 'a reservation reply names no reservation', { key });
    return toReservation(id, r, -Infinity);
  }

  private call(options: WriteOptions | undefined, request: unknown): IdempotentCall | undefined {
    return idempotentCall(this.keys.space.shard, options?.idempotencyKey, request, this.idempotency);
  }

  private write(fn: string, call: IdempotentCall | undefined, args: (string | number)[],
    decode: (values: unknown[]) => StockLevel): Promise<StockLevel> {
    return idempotentFcall(this.lib, fn, {
      call, recordKey: (digest) => this.keys.record(digest), keys: [this.keys.stock(), this.keys.events], args: [...args, this.eventsMaxLen], decode,
    });
  }
}
