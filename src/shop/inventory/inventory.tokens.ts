import { Inject } from '@nestjs/common';
import { instanceTokens } from '@kernel/nest/instance-tokens';
import { INVENTORY } from './inventory.port';

/** The token of a named inventory (`forRoot({ name })`); no name = INVENTORY. */
export const getInventoryToken = instanceTokens(INVENTORY, 'Inventory');

/** `@InjectInventory()` or `@InjectInventory('name')`: the Inventory port of that instance. */
export const InjectInventory = (name?: string): PropertyDecorator & ParameterDecorator => Inject(getInventoryToken(name));
