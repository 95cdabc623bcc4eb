import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { ordersContract } from './contract/orders.contract';
import { shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Orders contract — %s', (strategy) => {
  ordersContract(() => shopFixture(strategy, server));
});
