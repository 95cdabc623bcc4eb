import { RedisServer } from '@kernel/testing';
import { ATOMIC_STRATEGIES } from '@kernel/core';
import { accountsContract, CONTRACT_LIMITS } from './contract/accounts.contract';
import { ledgerFixture } from './support/accounts-fixture';
import { pendingContract } from './contract/pending.contract';

let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

describe.each(ATOMIC_STRATEGIES)('Accounts ledger contract — %s', (strategy) => {
  accountsContract(() => ledgerFixture(strategy, server, CONTRACT_LIMITS));
});

describe.each(ATOMIC_STRATEGIES)('Two-phase transfers contract — %s', (strategy) => {
  pendingContract(() => ledgerFixture(strategy, server, CONTRACT_LIMITS));
});
