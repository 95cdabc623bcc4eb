import { Inject } from '@nestjs/common';
import type { ShardDirectory } from '@kernel/core';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { ORDERS, Orders } from './orders.port';

/** The token of a named orders instance (`forRoot({ name })`); no name = ORDERS. */
export const getOrdersToken = instanceTokens(ORDERS, 'Orders');

/** `@InjectOrders()` or `@InjectOrders('name')`: the Orders port of that instance. */
export const InjectOrders = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getOrdersToken(name));

/** Every shop's orders of an instance, by name: `shops.shard('eu').place(…)`. */
export type OrdersShops = ShardDirectory<Orders>;

export const ORDERS_SHOPS = Symbol('ORDERS_SHOPS');

/** The token of an instance's OrdersShops directory; no name = ORDERS_SHOPS. */
export const getOrdersShopsToken = instanceTokens(ORDERS_SHOPS, 'OrdersShops');

/** `@InjectOrdersShops()` or `@InjectOrdersShops('name')`: every shard of that instance, by name. */
export const InjectOrdersShops = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getOrdersShopsToken(name));
