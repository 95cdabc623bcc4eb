import { Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { AtomicBody, AtomicHttp } from '@kernel/nest/http';
import { INVENTORY_ERROR_STATUS } from './inventory.errors';
import { INVENTORY, Inventory } from './inventory.port';
import { ReserveDto, RestockDto, SetStockDto } from './dto/stock.dto';

/**
 * Ids in paths, the query's numbers and the Idempotency-Key header are checked by the port (ValidatedInventory):
 * bad ones are a 400 before Redis is asked.
 */
@AtomicHttp(INVENTORY_ERROR_STATUS)
@Controller('inventory')
export class InventoryController {
  constructor(@Inject(INVENTORY) private readonly inventory: Inventory) {}

  @Put(':productId')
  setStock(@Param('productId') productId: string, @AtomicBody() { stock }: SetStockDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.inventory.setStock(productId, stock, { idempotencyKey });
  }

  @Post(':productId/restock')
  @HttpCode(200)
  restock(@Param('productId') productId: string, @AtomicBody() { quantity }: RestockDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.inventory.restock(productId, quantity, { idempotencyKey });
  }

  @Get(':productId')
  get(@Param('productId') productId: string) {
    return this.inventory.get(productId);
  }

  /** Available (for sale) and held units. */
  @Get(':productId/availability')
  availability(@Param('productId') productId: string) {
    return this.inventory.availability(productId);
  }

  /** 201 the reservation (`held`, `expiresAt` on the server's clock). */
  @Post(':productId/reservations')
  reserve(@Param('productId') productId: string, @AtomicBody() { quantity, ttlSeconds }: ReserveDto,
    @Headers('idempotency-key') idempotencyKey?: string) {
    return this.inventory.reserve(productId, quantity, ttlSeconds, { idempotencyKey });
  }

  @Get(':productId/reservations/:id')
  getReservation(@Param('productId') productId: string, @Param('id') id: string) {
    return this.inventory.getReservation(productId, id);
  }

  /** Releases a held reservation early: 200 the reservation, `released`. */
  @Delete(':productId/reservations/:id')
  release(@Param('productId') productId: string, @Param('id') id: string, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.inventory.release(productId, id, { idempotencyKey });
  }

  @Get()
  async lowStock(@Query('below') below?: string, @Query('limit') limit?: string) {
    return { products: await this.inventory.lowStock(count(below), limit === undefined ? undefined : count(limit)) };
  }
}

/** Digits only (no sign, exponent, spaces or repeats); anything else becomes NaN, which the port refuses. */
const count = (raw: unknown): number => (typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN);
