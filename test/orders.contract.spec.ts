import { ATOMIC_STRATEGIES } from '../libs/redis-atomic/src/strategy';
import { RedisServer } from '../libs/redis-atomic/src/testing';
import { ordersContract } from './contract/orders.contract';
import { shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Orders contract — %s', (strategy) => {
  ordersContract(() => shopFixture(strategy, server));
});
