import { Inject } from '@nestjs/common';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { ORDERS } from './orders.port';

/** The token of a named orders instance (`forRoot({ name })`); no name = ORDERS. */
export const getOrdersToken = instanceTokens(ORDERS, 'Orders');

/** `@InjectOrders()` or `@InjectOrders('name')`: the Orders port of that instance. */
export const InjectOrders = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getOrdersToken(name));
