import { ATOMIC_STRATEGIES } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { kvConcurrencySuite } from './contract/kv.concurrency';

/** Compare-and-set under contention (test/contract/kv.concurrency.ts), for every adapter. */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

kvConcurrencySuite(() => server, ATOMIC_STRATEGIES);
