import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { inventoryContract } from './contract/inventory.contract';
import { shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Inventory contract — %s', (strategy) => {
  inventoryContract(() => shopFixture(strategy, server));
});
