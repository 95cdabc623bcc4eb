import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { reservationsContract } from './contract/reservations.contract';
import { shopFixture } from './support/shop-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Stock reservations contract — %s', (strategy) => {
  reservationsContract(() => shopFixture(strategy, server), () => shopFixture(strategy, server, { idempotencyTtlSeconds: 1 }));
});
