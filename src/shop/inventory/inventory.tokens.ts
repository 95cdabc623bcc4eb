import { Inject, InjectionToken } from '@nestjs/common';
import { INVENTORY } from './inventory.port';

/** The token of a named inventory (`forRoot({ name })`); no name = INVENTORY. */
export const getInventoryToken = (name?: string): InjectionToken =>
  name === undefined ? INVENTORY : `redis-atomic:Inventory:${name}`;

/** `@InjectInventory()` or `@InjectInventory('name')`: the Inventory port of that instance. */
export const InjectInventory = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getInventoryToken(name));
