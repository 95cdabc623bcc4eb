import { Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ShardParam, ApiIdParam, ApiQueryParam, AtomicBody, AtomicHttp, Replay, ReplayHeader } from '@kernel/nest/http';
import { INVENTORY_ERROR_DETAILS, INVENTORY_ERROR_STATUS } from './inventory.errors';
import { INVENTORY_SHOPS, InventoryShops } from './inventory.tokens';
import { DEFAULT_LOW_STOCK_PAGE, MAX_LOW_STOCK_PAGE, MAX_STOCK } from './inventory-rules';
import { AvailabilityResponse, LowStockResponse, ReservationResponse, StockLevelResponse } from './dto/responses';
import { ReserveDto, RestockDto, SetStockDto } from './dto/stock.dto';

/** The `:shop` of `/shops/:shop/…`. */
export const SHOP_PARAM = 'The shop: a shard of its own (one hash tag: one slot, one master on a cluster), its inventory and orders together';

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
  constructor(@Inject(INVENTORY_SHOPS) private readonly shops: InventoryShops) {}

  @Put(':productId')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'Create a product or overwrite its stock', body: SetStockDto,
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock now' }],
    statuses, details, codes: [], write: true,
  })
  async setStock(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string, @AtomicBody() { stock }: SetStockDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).setStock(productId, stock, { idempotencyKey }));
  }

  @Post(':productId/restock')
  @HttpCode(200)
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'Add stock to an existing product', body: RestockDto,
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock now' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND', 'STOCK_LIMIT_EXCEEDED'], write: true,
  })
  async restock(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string, @AtomicBody() { quantity }: RestockDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).restock(productId, quantity, { idempotencyKey }));
  }

  @Get(':productId')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'A product\'s stock',
    responses: [{ status: 200, type: StockLevelResponse, description: 'The stock' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND'],
  })
  get(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string) {
    return this.shops.shard(shop).get(productId);
  }

  /** Available (for sale) and held units. */
  @Get(':productId/availability')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'A product\'s available and held units',
    description: '`available` is the product\'s `stock` (units for sale); `held` the units live reservations hold. On hand = available + held.',
    responses: [{ status: 200, type: AvailabilityResponse, description: 'Available and held units' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND'],
  })
  availability(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string) {
    return this.shops.shard(shop).availability(productId);
  }

  /** 201 the reservation (`held`, `expiresAt` on the server's clock). */
  @Post(':productId/reservations')
  @ApiIdParam('productId')
  @ApiAtomicRoute({
    summary: 'Reserve stock: hold units for a while', body: ReserveDto,
    description: 'One atomic step: `quantity` units leave the available stock and are `held` for `ttlSeconds` (server clock), until ' +
      'released, consumed by an order line naming the reservation, or expired (then they come back). The id is derived from the ' +
      'Idempotency-Key when there is one (a retry names the same reservation); `RESERVATION_EXISTS` when that id is taken after ' +
      'the key\'s record expired. `OUT_OF_STOCK` when fewer units are available.',
    responses: [{ status: 201, type: ReservationResponse, description: 'Held' }],
    statuses, details, codes: ['PRODUCT_NOT_FOUND', 'OUT_OF_STOCK', 'RESERVATION_EXISTS'], write: true,
  })
  async reserve(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string, @AtomicBody() { quantity, ttlSeconds }: ReserveDto,
    @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).reserve(productId, quantity, ttlSeconds, { idempotencyKey }));
  }

  @Get(':productId/reservations/:id')
  @ApiIdParam('productId')
  @ApiIdParam('id', 'The reservation')
  @ApiAtomicRoute({
    summary: 'A reservation',
    description: 'A held reservation past its `expiresAt` shows `expired`. `RESERVATION_PRODUCT_MISMATCH` when it holds another product.',
    responses: [{ status: 200, type: ReservationResponse, description: 'The reservation' }],
    statuses, details, codes: ['RESERVATION_NOT_FOUND', 'RESERVATION_PRODUCT_MISMATCH'],
  })
  getReservation(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string, @Param('id') id: string) {
    return this.shops.shard(shop).getReservation(productId, id);
  }

  /** Releases a held reservation early: 200 the reservation, `released`. */
  @Delete(':productId/reservations/:id')
  @ApiIdParam('productId')
  @ApiIdParam('id', 'The reservation')
  @ApiAtomicRoute({
    summary: 'Release a held reservation (its units back to the stock)',
    description: 'Only a `held` reservation can be released: one already released, consumed or expired (a held one past its ' +
      '`expiresAt` included) is refused with its `status`. `STOCK_LIMIT_EXCEEDED` when giving the units back would pass 2^53 − 1.',
    responses: [{ status: 200, type: ReservationResponse, description: 'Released' }],
    statuses, details, write: true,
    codes: ['RESERVATION_NOT_FOUND', 'RESERVATION_PRODUCT_MISMATCH', 'RESERVATION_RELEASED', 'RESERVATION_CONSUMED', 'RESERVATION_EXPIRED', 'STOCK_LIMIT_EXCEEDED'],
  })
  async release(@ShardParam('shop') shop: string | undefined, @Param('productId') productId: string, @Param('id') id: string, @Replay() replay: ReplayHeader,
    @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).release(productId, id, { idempotencyKey }));
  }

  @Get()
  @ApiQueryParam('below', { type: 'integer', minimum: 0, maximum: MAX_STOCK }, { required: true, description: 'Products whose stock is strictly below this' })
  @ApiQueryParam('limit', { type: 'integer', minimum: 1, maximum: MAX_LOW_STOCK_PAGE, default: DEFAULT_LOW_STOCK_PAGE })
  @ApiAtomicRoute({
    summary: 'Low stock: products below a level, lowest first',
    responses: [{ status: 200, type: LowStockResponse, description: 'The products' }],
  })
  async lowStock(@ShardParam('shop') shop: string | undefined, @Query('below') below?: string, @Query('limit') limit?: string) {
    return { products: await this.shops.shard(shop).lowStock(count(below), limit === undefined ? undefined : count(limit)) };
  }
}

/** Digits only (no sign, exponent, spaces or repeats); anything else becomes NaN, which the port refuses. */
const count = (raw: unknown): number => (typeof raw === 'string' && /^\d{1,16}$/.test(raw) ? Number(raw) : NaN);

/** The same routes for any shop: `/shops/:shop/inventory/…` (the plain ones serve the default shop). */
@Controller('shops/:shop/inventory')
export class ShopInventoryController extends InventoryController {}
