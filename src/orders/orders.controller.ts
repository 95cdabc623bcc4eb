import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { PlaceOrderDto } from './dto/place-order.dto';
import { ORDERS, Orders } from './orders.port';

/** Ids in paths are checked by the port (ValidatedOrders): a bad one is a 400 before Redis is asked. */
@Controller('orders')
export class OrdersController {
  constructor(@Inject(ORDERS) private readonly orders: Orders) {}

  @Post()
  place(@Body() body: PlaceOrderDto) {
    return this.orders.place(body);
  }

  /** 200 with the claimed order, or 204 when nothing is pending. */
  @Post('claim')
  @HttpCode(200)
  async claim(@Res({ passthrough: true }) reply: FastifyReply) {
    const order = await this.orders.claimNext();
    if (!order) reply.status(204);
    return order ?? undefined;
  }

  @Get(':id')
  get(@Param('id') id: string) {
    return this.orders.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancel(@Param('id') id: string) {
    return this.orders.cancel(id);
  }

  @Post(':id/complete')
  @HttpCode(200)
  complete(@Param('id') id: string) {
    return this.orders.complete(id);
  }
}

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
