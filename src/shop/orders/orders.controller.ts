import { Controller, Get, Headers, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { AtomicBody, AtomicHttp, HttpResponse } from '@kernel/nest/http';
import { ORDERS_ERROR_STATUS } from './orders.errors';
import { PlaceOrderDto } from './dto/place-order.dto';
import { ORDERS, Orders } from './orders.port';

/**
 * Ids in paths and the Idempotency-Key header are checked by the port (ValidatedOrders): a bad one is a 400
 * before Redis is asked. A replayed result keeps its mark, so the answer says `Idempotent-Replayed: true`.
 */
@AtomicHttp(ORDERS_ERROR_STATUS)
@Controller('orders')
export class OrdersController {
  constructor(@Inject(ORDERS) private readonly orders: Orders) {}

  @Post()
  place(@AtomicBody() body: PlaceOrderDto, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.orders.place(body, { idempotencyKey });
  }

  /**
   * 200 with the claimed order (the same one, replayed, on a retry with the same Idempotency-Key), or 204 when
   * nothing is pending. A 204 is never recorded (the claim had no effect): a retry under its key may claim an
   * order that arrived since — still at most one claim per key.
   */
  @Post('claim')
  @HttpCode(200)
  async claim(@Res({ passthrough: true }) reply: HttpResponse, @Headers('idempotency-key') idempotencyKey?: string) {
    const order = await this.orders.claimNext({ idempotencyKey });
    if (!order) reply.status(204);
    return order ?? undefined;
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.orders.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.orders.cancel(id, { idempotencyKey });
  }

  @Post(':id/complete')
  @HttpCode(200)
  complete(@Param('id') id: string, @Headers('idempotency-key') idempotencyKey?: string) {
    return this.orders.complete(id, { idempotencyKey });
  }
}

@AtomicHttp(ORDERS_ERROR_STATUS)
@Controller('users')
export class UsersController {
  constructor(@Inject(ORDERS) private readonly orders: Orders) {}

  @Get(':userId/orders')
  async list(@Param('userId') userId: string) {
    return { userId, orders: await this.orders.listByUser(userId) };
  }

  @Get(':userId/stats')
  stats(@Param('userId') userId: string) {
    return this.orders.userStats(userId);
  }
}
