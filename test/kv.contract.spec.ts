import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { kvContract } from './contract/kv.contract';
import { KvFixture, kvFixture } from './support/kv-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

/**
 * Memory gets a fresh app per test. A Redis strategy reuses one app (wiring and FUNCTION LOAD are most of a
 * test's time) on this file's private server, emptied before each test (FLUSHDB keeps the functions).
 */
describe.each(ATOMIC_STRATEGIES)('conditional store (kv) contract — %s', (strategy) => {
  let shared: KvFixture | undefined;
  afterAll(() => shared?.close());

  kvContract(async () => {
    if (strategy === 'memory') return kvFixture(strategy);
    shared ??= await kvFixture(strategy, server);
    await shared.client!.flushdb();
    return { ...shared, close: async () => undefined };
  });
});
