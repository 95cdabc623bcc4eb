import { Test, TestingModule } from '@nestjs/testing';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisServer } from '@kernel/testing';
import { AtomicStrategy } from '@kernel/core';
import { AccountsModule, AccountsModuleOptions } from '../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../src/accounts/accounts.port';
import { eventually } from './contract/pending.contract';
import { uniqueIds } from './support/accounts-fixture';

/**
 * AccountsModule's opt-in sweeper (`sweepIntervalMs`): it releases expired reservations with nobody calling
 * sweepExpired, and it stops with the module. Off by default.
 */
let server: RedisServer;
beforeAll(async () => (server = await RedisServer.start()));
afterAll(() => server.stop());

async function moduleWith(strategy: AtomicStrategy, options: Partial<AccountsModuleOptions>): Promise<TestingModule> {
  const redis = strategy === 'memory' ? [] : [RedisAtomicModule.forRoot({ url: server.url })];
  const moduleRef = await Test.createTestingModule({
    imports: [...redis, AccountsModule.forRoot({ strategy, http: false, ledger: 'sweeper', ...options })],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}

async function reserveBriefly(ledger: AccountsLedger): Promise<[string, string]> {
  const [a, b] = uniqueIds('a', 'b');
  await ledger.open({ id: a, balance: 100 });
  await ledger.open({ id: b });
  const { id } = await ledger.transfer({ from: a, to: b, amount: 40, pending: true, timeoutSeconds: 1 });
  return [a, id];
}

describe.each<AtomicStrategy>(['memory', 'functions', 'transactions'])('AccountsModule sweepIntervalMs — %s', (strategy) => {
  it('releases an expired reservation by itself', async () => {
    const moduleRef = await moduleWith(strategy, { sweepIntervalMs: 20, sweepBatch: 5 });
    try {
      const ledger = moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER);
      const [a, id] = await reserveBriefly(ledger);
      await eventually(async () => (await ledger.get(a)).pendingDebits === 0, 'the sweeper released the reservation');
      expect(await ledger.getTransfer(id)).toMatchObject({ status: 'expired', resolvedAt: expect.any(String) });
    } finally {
      await moduleRef.close();
    }
  });

  it('stops with the module (and is off without the option)', async () => {
    // The reads go through a module without a sweeper (a closed module's Redis client is gone; memory keeps its state).
    const observer = strategy === 'memory' ? undefined : await moduleWith(strategy, {});
    try {
      for (const options of [{ sweepIntervalMs: 20 }, {}]) {
        const moduleRef = await moduleWith(strategy, options);
        const [a, id] = await reserveBriefly(moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER));
        await moduleRef.close();
        const ledger = (observer ?? moduleRef).get<AccountsLedger>(ACCOUNTS_LEDGER);
        await eventually(async () => (await ledger.getTransfer(id)).status === 'expired', 'the reservation reads expired');
        await new Promise((resolve) => setTimeout(resolve, 300)); // many intervals: a running sweeper would have released it
        expect((await ledger.get(a)).pendingDebits).toBe(40);
      }
    } finally {
      await observer?.close();
    }
  });
});

describe('AccountsModule sweeper options', () => {
  it('refuses a negative interval or a batch outside 1..1000 at start', async () => {
    await expect(moduleWith('memory', { sweepIntervalMs: -1 })).rejects.toThrow(/sweepIntervalMs/);
    await expect(moduleWith('memory', { sweepIntervalMs: 10, sweepBatch: 0 })).rejects.toThrow(/sweepBatch/);
  });
});
