import { Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ApiIdParam, ApiQueryParam, AtomicBody, AtomicHttp, Replay, ReplayHeader } from '@kernel/nest/http';
import { INVENTORY_ERROR_DETAILS, INVENTORY_ERROR_STATUS } from './inventory.errors';
import { INVENTORY, Inventory } from './inventory.port';
import { DEFAULT_LOW_STOCK_PAGE, MAX_LOW_STOCK_PAGE, MAX_STOCK } from './inventory-rules';
import { LowStockResponse, StockLevelResponse } from './dto/responses';
import { ReserveDto, RestockDto, SetStockDto } from './dto/stock.dto';

const statuses = INVENTORY_ERROR_STATUS;
const details = INVENTORY_ERROR_DETAILS;

/**
 * Ids in paths, the query's numbers and the Idempotency-Key header are checked by the port (ValidatedInventory):
 * bad ones are a 400 before Redis is asked.
 */
@ApiGroup('inventory')
@AtomicHttp(INVENTORY_ERROR_STATUS)
@Controller('inventory')
export class InventoryController {
  constructor(@Inject(INVENTORY) private readonly inventory: Inventory) {}

  @Put(':productId')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'Create a product or overwrite its stock', body: SetStockDto,
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock now' }],
    statuses, details, codes: [], write: true,
  })
  async setStock(@Param('productId') productId: string, @AtomicBody() { stock }: SetStockDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.inventory.setStock(productId, stock, { idempotencyKey }));
  }

  @Post(':productId/restock')
  @HttpCode(200)
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'Add stock to an existing product', body: RestockDto,
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock now' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND', 'STOCK_LIMIT_EXCEEDED'], write: true,
  })
  async restock(@Param('productId') productId: string, @AtomicBody() { quantity }: RestockDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.inventory.restock(productId, quantity, { idempotencyKey }));
  }

  @Get(':productId')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'A product\'s stock',
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND'],
  })
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
  async reserve(@Param('productId') productId: string, @AtomicBody() { quantity, ttlSeconds }: ReserveDto,
    @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.inventory.reserve(productId, quantity, ttlSeconds, { idempotencyKey }));
  }

  @Get(':productId/reservations/:id')
  getReservation(@Param('productId') productId: string, @Param('id') id: string) {
    return this.inventory.getReservation(productId, id);
  }

  /** Releases a held reservation early: 200 the reservation, `released`. */
  @Delete(':productId/reservations/:id')
  async release(@Param('productId') productId: string, @Param('id') id: string, @Replay() replay: ReplayHeader,
    @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.inventory.release(productId, id, { idempotencyKey }));
  }

  @Get()
  @ApiQueryParam('below', { type: 'integer', minimum: 0, maximum: MAX_STOCK }, { required: true, description: 'Products whose stock is strictly below this' })
  @ApiQueryParam('limit', { type: 'integer', minimum: 1, maximum: MAX_LOW_STOCK_PAGE, default: DEFAULT_LOW_STOCK_PAGE })
  @ApiAtomicRoute({
    summary: 'Low stock: products below a level, lowest first',
    responses: [{ status: 200, type: LowStockResponse, description: 'The products' }],
  })
  async lowStock(@Query('below') below?: string, @Query('limit') limit?: string) {
    return { products: await this.inventory.lowStock(count(below), limit === undefined ? undefined : count(limit)) };
  }
}

/** Digits only (no sign, exponent, spaces or repeats); anything else becomes NaN, which the port refuses. */
const count = (raw: unknown): number => (typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN);
