import { Inject } from '@nestjs/common';
import type { ShardDirectory } from '@kernel/core';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { INVENTORY, Inventory } from './inventory.port';

/** The token of a named inventory (`forRoot({ name })`); no name = INVENTORY. */
export const getInventoryToken = instanceTokens(INVENTORY, 'Inventory');

/** `@InjectInventory()` or `@InjectInventory('name')`: the Inventory port of that instance. */
export const InjectInventory = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getInventoryToken(name));

/** Every shop's inventory of an instance, by name: `shops.shard('eu').reserve(…)`. */
export type InventoryShops = ShardDirectory<Inventory>;

export const INVENTORY_SHOPS = Symbol('INVENTORY_SHOPS');

/** The token of an instance's InventoryShops directory; no name = INVENTORY_SHOPS. */
export const getInventoryShopsToken = instanceTokens(INVENTORY_SHOPS, 'InventoryShops');

/** `@InjectInventoryShops()` or `@InjectInventoryShops('name')`: every shard of that instance, by name. */
export const InjectInventoryShops = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getInventoryShopsToken(name));
