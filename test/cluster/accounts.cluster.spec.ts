import { Test } from '@nestjs/testing';
import { keySlot, KeySpace } from '@kernel/core';
import { FunctionLibraries, RedisAtomicModule } from '@kernel/nest';
import { WatchRunner } from '@kernel/redis';
import { allKeys, RedisCluster } from '@kernel/testing';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';
import { AccountKeys } from '../../src/accounts/keys';
import { accountsContract, CONTRACT_LIMITS } from '../contract/accounts.contract';
import { connectionTo, ledgerFixture, LedgerFixture, uniqueIds } from '../support/accounts-fixture';
import { BankAccount, bankViolations, runBank } from '../support/bank';

/**
 * The Accounts ledger on a local Redis Cluster (3 masters + 3 replicas): the same contract and concurrency
 * invariant as standalone, plus what only a cluster has — ledgers on different masters, single-slot operations,
 * functions on every master, WATCH routed to the slot's master.
 */
let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start()), 120_000);
afterAll(() => cluster.stop(), 30_000);
jest.setTimeout(60_000);

/** Ledger names whose hash slots are owned by `count` different masters. */
async function ledgersOnDistinctMasters(count: number, base: string): Promise<string[]> {
  const byMaster = new Map<string, string>();
  for (let i = 0; byMaster.size < count; i++) {
    const name = `${base}${i}`;
    const owner = (await cluster.owner(keySlot(name))).address;
    if (!byMaster.has(owner)) byMaster.set(owner, name);
  }
  return [...byMaster.values()];
}

describe.each(['functions', 'transactions'] as const)('Accounts ledger contract on a Redis Cluster — %s', (strategy) => {
  accountsContract(() => ledgerFixture(strategy, cluster, CONTRACT_LIMITS));
});

describe.each(['functions', 'transactions'] as const)('bank invariant on a Redis Cluster — %s, 2 instances', (strategy) => {
  const FLOORS = [0, -200, 0, -500, 0, 100];
  let fixtures: LedgerFixture[];
  beforeAll(async () => {
    fixtures = await Promise.all([0, 1].map(() => ledgerFixture(strategy, cluster, { historyLimit: 10_000, ledger: `bank-${strategy}` })));
  }, 60_000);
  afterAll(() => Promise.all(fixtures.map((f) => f.close())));

  it('conserves money, respects every floor and records exactly two entries per transfer', async () => {
    const ids = uniqueIds(...FLOORS.map((_, i) => `acct${i}`));
    const accounts: BankAccount[] = ids.map((id, i) => ({ id, balance: 1000, minBalance: FLOORS[i] }));
    for (const account of accounts) await fixtures[0].ledger.open(account);
    const run = await runBank(fixtures.map((f) => f.ledger), accounts, { workers: 12, operations: 800, seed: 20261129 });
    const { INSUFFICIENT_FUNDS = 0, CONFLICT = 0, ...unexpected } = run.failures;
    expect(unexpected).toEqual({});
    expect(INSUFFICIENT_FUNDS).toBeGreaterThan(0); // the workload really did try to overdraw
    expect(run.applied).toBeGreaterThan(200);
    if (strategy === 'functions') expect(CONFLICT).toBe(0);
    expect(await bankViolations(fixtures[0].ledger, accounts, run)).toEqual([]);
  });
});

describe('ledgers are shards: one slot each, spread over the masters', () => {
  it('our key-slot function agrees with CLUSTER KEYSLOT', async () => {
    const node = cluster.nodeClient((await cluster.masters())[0].port);
    const keys = ['ra:{main}:acct:alice', 'plain', '{}x', 'a{}{b}', '{user1000}.following', 'ünïcode{ü}', 'x{y}z{w}', ''];
    for (const key of keys) expect(keySlot(key)).toBe(await node.cluster('KEYSLOT', key));
  });

  it('puts ledgers on different masters and every key an operation wrote in its ledger slot', async () => {
    const ledgers = await ledgersOnDistinctMasters(3, 'spread');
    const fixtures = await Promise.all(ledgers.flatMap((ledger) =>
      (['functions', 'transactions'] as const).map((strategy) => ledgerFixture(strategy, cluster, { ledger }))));
    try {
      for (const fixture of fixtures) {
        const [idempotencyKey] = uniqueIds('key');
        const [a, b] = uniqueIds('a', 'b');
        await fixture.ledger.open({ id: a, balance: 100 });
        await fixture.ledger.open({ id: b });
        await fixture.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey });
        await fixture.ledger.transferBatch([{ from: a, to: b, amount: 1 }, { from: b, to: a, amount: 2 }]);
        await fixture.ledger.deposit({ id: b, amount: 5 });
        await expect(fixture.ledger.withdraw({ id: a, amount: 1000 })).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
      }
      const masters = await cluster.masters();
      const owners = new Set<number>();
      for (const ledger of ledgers) {
        const slot = keySlot(ledger);
        const owner = await cluster.owner(slot);
        owners.add(owner.port);
        const prefix = new KeySpace('ra', ledger).pattern.slice(0, -1); // ra:{ledger}:
        // Every key of this ledger, wherever it is in the cluster, lives on the slot's owner, in that slot.
        for (const master of masters) {
          const node = cluster.nodeClient(master.port);
          const keys = (await allKeys(node)).filter((key) => key.startsWith(prefix));
          if (master.port !== owner.port) {
            expect(keys).toEqual([]);
            continue;
          }
          // accounts, histories, events and idempotency records of both strategies
          expect(keys.length).toBeGreaterThanOrEqual(8);
          expect(keys.some((key) => key.endsWith(':events'))).toBe(true);
          for (const key of keys) expect(await node.cluster('KEYSLOT', key)).toBe(slot);
        }
      }
      expect(owners.size).toBe(3); // three ledgers, three masters
    } finally {
      await Promise.all(fixtures.map((f) => f.close()));
    }
  });
});

describe('functions on every master', () => {
  it('loads the library on every master, reports it per master, and reloads a master that lost it', async () => {
    const [ledger] = await ledgersOnDistinctMasters(1, 'flush');
    const moduleRef = await Test.createTestingModule({
      imports: [RedisAtomicModule.forRoot(connectionTo(cluster)), AccountsModule.forRoot({ strategy: 'functions', http: false, ledger })],
    }).compile();
    await moduleRef.init();
    try {
      const library = moduleRef.get(FunctionLibraries).get('accounts');
      const masters = await cluster.masters();
      const versions = await library.loadedVersions();
      expect(versions.map((v) => v.node).sort()).toEqual(masters.map((m) => m.address).sort());
      expect(versions.every((v) => v.version === library.version)).toBe(true);
      for (const master of masters) {
        expect(await cluster.nodeClient(master.port).call('FCALL_RO', 'accounts_version', 0)).toBe(library.version);
      }

      // The master owning this ledger loses its functions (as after a restart without persistence).
      const owner = cluster.nodeClient((await cluster.owner(keySlot(ledger))).port);
      await owner.call('FUNCTION', 'FLUSH');
      expect(await library.loadedVersion()).toBeNull();
      const ledgerPort = moduleRef.get<AccountsLedger>(ACCOUNTS_LEDGER);
      const [a] = uniqueIds('a');
      await expect(ledgerPort.open({ id: a, balance: 7 })).resolves.toMatchObject({ id: a, balance: 7, minBalance: 0, available: 7 });
      expect(await owner.call('FCALL_RO', 'accounts_version', 0)).toBe(library.version);
      expect(await library.loadedVersion()).toBe(library.version);
    } finally {
      await moduleRef.close();
    }
  });
});

describe('WATCH on a cluster', () => {
  let runner: WatchRunner;
  beforeAll(() => {
    runner = new WatchRunner(cluster.client(), { queueSameKeys: false, maxAttempts: 100 }); // conflicts resolved by WATCH alone
  });
  afterAll(() => runner.close());

  it('refuses keys of different slots before sending anything', async () => {
    const keys = new AccountKeys(new KeySpace('ra', 'w1'));
    const other = new AccountKeys(new KeySpace('ra', 'w2'));
    let attempts = 0;
    await expect(runner.run([keys.account('a'), other.account('b')], async () => {
      attempts++;
      return { value: 1 };
    })).rejects.toThrow(/one slot/);
    expect(attempts).toBe(0);
  });

  it("runs on a dedicated connection to the slot's master", async () => {
    const [ledger] = await ledgersOnDistinctMasters(1, 'watch');
    const key = new KeySpace('ra', ledger).key('counter', uniqueIds('c')[0]);
    const owner = await cluster.owner(keySlot(key));
    const ports = await Promise.all(Array.from({ length: 20 }, () => runner.run([key], async (connection) => {
      const value = Number(await connection.get(key));
      return { write: (m) => m.set(key, value + 1), result: () => connection.options.port };
    })));
    expect(new Set(ports)).toEqual(new Set([owner.port]));
    expect(await cluster.nodeClient(owner.port).get(key)).toBe('20'); // no lost update among 20 concurrent increments
  });

  // Last in this file: it swaps a master with its replica.
  it('never commits a read made on a master that was failed over before EXEC: it reads again on the new one', async () => {
    const [ledger] = await ledgersOnDistinctMasters(1, 'failover');
    const key = new KeySpace('ra', ledger).key('counter', uniqueIds('c')[0]);
    await cluster.client().set(key, '1');
    const reads: { port: number | undefined; value: number }[] = [];
    const result = await runner.run([key], async (connection) => {
      const value = Number(await connection.get(key));
      reads.push({ port: connection.options.port, value });
      if (reads.length === 1) {
        // Between this read and EXEC: the master is failed over, and the key changes on the new master.
        const { promoted } = await cluster.failover(key);
        await cluster.nodeClient(promoted.port).set(key, '100');
      }
      return { write: (m) => m.set(key, value + 1), result: () => value + 1 };
    });
    const owner = await cluster.owner(keySlot(key));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect(reads[0]).toEqual({ port: expect.any(Number), value: 1 });
    expect(reads.at(-1)).toEqual({ port: owner.port, value: 100 }); // the retry read on the new master
    expect(reads[0].port).not.toBe(owner.port);
    expect(result).toBe(101);
    expect(await cluster.nodeClient(owner.port).get(key)).toBe('101'); // not 2: the stale read was never committed
  });
});
