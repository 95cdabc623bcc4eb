import { RedisServer } from '@kernel/testing';
import { ATOMIC_STRATEGIES } from '@kernel/core';
import { accountsContract, CONTRACT_LIMITS } from './contract/accounts.contract';
import { ledgerFixture } from './support/accounts-fixture';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Accounts ledger contract — %s', (strategy) => {
  accountsContract(() => ledgerFixture(strategy, server, CONTRACT_LIMITS));
});
