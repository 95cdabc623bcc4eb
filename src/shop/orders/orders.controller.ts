import { Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiAtomicRoute, ApiGroup, ShardParam, ApiIdParam, AtomicBody, AtomicHttp, HttpResponse, Replay, ReplayHeader } from '@kernel/nest/http';
import { ORDERS_ERROR_DETAILS, ORDERS_ERROR_STATUS } from './orders.errors';
import { PlaceOrderDto } from './dto/place-order.dto';
import { OrderResponse, UserOrdersResponse, UserStatsResponse } from './dto/responses';
import { SHOP_PARAM } from '../inventory/inventory.controller';
import { ORDERS_SHOPS, OrdersShops } from './orders.tokens';

const statuses = ORDERS_ERROR_STATUS;
const details = ORDERS_ERROR_DETAILS;

/**
 * Ids in paths and the Idempotency-Key header are checked by the port (ValidatedOrders): a bad one is a 400
 * before Redis is asked. A replayed result keeps its mark, so the answer says `Idempotent-Replayed: true`.
 */
@ApiGroup('orders')
@AtomicHttp(ORDERS_ERROR_STATUS)
@Controller('orders')
export class OrdersController {
  constructor(@Inject(ORDERS_SHOPS) private readonly shops: OrdersShops) {}

  @Post()
  @ApiAtomicRoute({
    summary: 'Place an order, taking its stock', body: PlaceOrderDto,
    description: 'One atomic step: every line\'s stock is checked, then taken; the order is written (`pending`), added to ' +
      'the user\'s orders and stats and queued. `OUT_OF_STOCK` names the first short line (`index`, `productId`). A line naming a ' +
      '`reservationId` takes that reservation\'s held units instead (it must be `held`, of the line\'s product and exactly its ' +
      'quantity) and the reservation becomes `consumed` in the same step; the reservation errors name the line (`index`).',
    responses: [{ status: 201, type: OrderResponse, description: 'Placed (`pending`)' }],
    statuses, details, write: true,
    codes: ['ORDER_EXISTS', 'PRODUCT_NOT_FOUND', 'OUT_OF_STOCK', 'STATS_LIMIT_EXCEEDED', 'RESERVATION_NOT_FOUND', 'RESERVATION_PRODUCT_MISMATCH',
      'RESERVATION_QUANTITY_MISMATCH', 'RESERVATION_RELEASED', 'RESERVATION_CONSUMED', 'RESERVATION_EXPIRED'],
  })
  async place(@ShardParam('shop') shop: string | undefined, @AtomicBody() body: PlaceOrderDto, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).place(body, { idempotencyKey }));
  }

  /**
   * 200 with the claimed order (the same one, replayed, on a retry with the same Idempotency-Key), or 204 when
   * nothing is pending. A 204 is never recorded (the claim had no effect): a retry under its key may claim an
   * order that arrived since — still at most one claim per key.
   */
  @Post('claim')
  @HttpCode(200)
  @ApiAtomicRoute({
    summary: 'Claim the oldest pending order (`processing`)',
    responses: [
      { status: 200, type: OrderResponse, description: 'The claimed order' },
      { status: 204, description: 'Nothing is pending' },
    ],
    statuses, details, codes: [], write: true,
  })
  async claim(@ShardParam('shop') shop: string | undefined, @Res({ passthrough: true }) reply: HttpResponse, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    const order = replay(await this.shops.shard(shop).claimNext({ idempotencyKey }));
    if (!order) reply.status(204);
    return order ?? undefined;
  }

  @Get(':id')
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'An order',
    responses: [{ status: 200, type: OrderResponse, description: 'The order' }],
    statuses, details, codes: ['ORDER_NOT_FOUND'],
  })
  get(@ShardParam('shop') shop: string | undefined, @Param('id') id: string) {
    return this.shops.shard(shop).get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'Cancel a pending order (stock given back)',
    responses: [{ status: 200, type: OrderResponse, description: 'Cancelled' }],
    statuses, details, codes: ['ORDER_NOT_FOUND', 'ORDER_NOT_CANCELLABLE', 'STOCK_LIMIT_EXCEEDED'], write: true,
  })
  async cancel(@ShardParam('shop') shop: string | undefined, @Param('id') id: string, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).cancel(id, { idempotencyKey }));
  }

  @Post(':id/complete')
  @HttpCode(200)
  @ApiIdParam('id')
  @ApiAtomicRoute({
    summary: 'Complete a claimed (`processing`) order',
    responses: [{ status: 200, type: OrderResponse, description: 'Completed' }],
    statuses, details, codes: ['ORDER_NOT_FOUND', 'INVALID_TRANSITION'], write: true,
  })
  async complete(@ShardParam('shop') shop: string | undefined, @Param('id') id: string, @Replay() replay: ReplayHeader, @Headers('idempotency-key') idempotencyKey?: string) {
    return replay(await this.shops.shard(shop).complete(id, { idempotencyKey }));
  }
}

@ApiGroup('orders')
@AtomicHttp(ORDERS_ERROR_STATUS)
@Controller('users')
export class UsersController {
  constructor(@Inject(ORDERS_SHOPS) private readonly shops: OrdersShops) {}

  @Get(':userId/orders')
  @ApiIdParam('userId')
  @ApiAtomicRoute({
    summary: 'A user\'s orders, oldest first',
    responses: [{ status: 200, type: UserOrdersResponse, description: 'The orders ([] for an unknown user)' }],
  })
  async list(@ShardParam('shop') shop: string | undefined, @Param('userId') userId: string) {
    return { userId, orders: await this.shops.shard(shop).listByUser(userId) };
  }

  @Get(':userId/stats')
  @ApiIdParam('userId')
  @ApiAtomicRoute({
    summary: 'A user\'s order count and spend (non-cancelled orders)',
    responses: [{ status: 200, type: UserStatsResponse, description: 'The stats (zeros for an unknown user)' }],
  })
  stats(@ShardParam('shop') shop: string | undefined, @Param('userId') userId: string) {
    return this.shops.shard(shop).userStats(userId);
  }
}

/** The same routes for any shop: `/shops/:shop/orders/…` (the plain ones serve the default shop). */
@Controller('shops/:shop/orders')
export class ShopOrdersController extends OrdersController {}

/** The same routes for any shop: `/shops/:shop/users/…` (the plain ones serve the default shop). */
@Controller('shops/:shop/users')
export class ShopUsersController extends UsersController {}
