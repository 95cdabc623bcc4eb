import { ATOMIC_STRATEGIES } from '../libs/redis-atomic/src/strategy';
import { RedisServer } from '../libs/redis-atomic/src/testing';
import { kvContract } from './contract/kv.contract';
import { kvFixture } from './support/kv-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('conditional store (kv) contract — %s', (strategy) => {
  kvContract(() => kvFixture(strategy, server));
});
