import { Inject, InjectionToken } from '@nestjs/common';
import { ORDERS } from './orders.port';

/** The token of a named orders instance (`forRoot({ name })`); no name = ORDERS. */
export const getOrdersToken = (name?: string): InjectionToken =>
  name === undefined ? ORDERS : `redis-atomic:Orders:${name}`;

/** `@InjectOrders()` or `@InjectOrders('name')`: the Orders port of that instance. */
export const InjectOrders = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getOrdersToken(name));
