/**
 * Nothing is sent twice on a Redis Cluster: a command in flight when its node connection drops is reported
 * OUTCOME_UNKNOWN and never resent behind the caller's back (connection.ts `clusterOptions`: no auto-resend on the
 * node connections, `retryDelayOnFailover: 0` on the cluster client).
 *
 * A LostReplyProxy (test/faults/support.ts) stands between the service and the master owning the ledger's slot
 * (ioredis' `natMap` sends that master's traffic through it). Armed, it forwards one FCALL (or EXEC) to the master,
 * drops the master's reply and resets the client's socket: the transfer ran, the client never heard back. The
 * transfers carry no idempotency key, so a resend would apply a second time — the balance and the history count
 * the effects without MONITOR.
 *
 * The same test with the cluster client's resend switched on (`retryDelayOnFailover: 100`, ioredis' default) — a
 * broken configuration — observes the double effect: so the test bites, and the setting is what prevents it.
 */
import { AtomicError, keySlot } from '@kernel/core';
import { RedisAtomicModule } from '@kernel/nest';
import { RedisCluster } from '@kernel/testing';
import { Test, TestingModule } from '@nestjs/testing';
import type { ClusterOptions, default as Redis } from 'ioredis';
import { AccountsModule } from '../../src/accounts/accounts.module';
import { ACCOUNTS_LEDGER, AccountsLedger } from '../../src/accounts/accounts.port';
import { accountInRedis, LostReplyProxy, sleep } from '../faults/support';
import { uniqueIds } from '../support/accounts-fixture';

let cluster: RedisCluster;
beforeAll(async () => (cluster = await RedisCluster.start()), 120_000);
afterAll(() => cluster.stop(), 30_000);
jest.setTimeout(60_000);

interface Proxied {
  ledger: AccountsLedger;
  ledgerName: string;
  proxy: LostReplyProxy;
  /** A direct connection to the master owning the ledger (not through the proxy). */
  master: Redis;
  close(): Promise<void>;
}

/** A ledger on one master whose traffic from the service goes through a LostReplyProxy. */
async function proxiedLedger(strategy: 'functions' | 'transactions', clusterOptions: ClusterOptions = {}): Promise<Proxied> {
  const [ledgerName] = uniqueIds(`nr-${strategy}`);
  const owner = await cluster.owner(keySlot(ledgerName));
  const proxy = await LostReplyProxy.start(owner.port);
  let moduleRef: TestingModule | undefined;
  try {
    moduleRef = await Test.createTestingModule({
      imports: [
        RedisAtomicModule.forRoot({
          cluster: { nodes: cluster.nodes, options: { natMap: { [owner.address]: { host: '127.0.0.1', port: proxy.port } }, ...clusterOptions } },
        }),
        AccountsModule.forRoot({ strategy, ledger: ledgerName, http: false }),
      ],
    }).compile();
    await moduleRef.init();
  } catch (err) {
    await proxy.close();
    throw err;
  }
  const ref = moduleRef;
  return {
    ledger: ref.get<AccountsLedger>(ACCOUNTS_LEDGER),
    ledgerName,
    proxy,
    master: cluster.nodeClient(owner.port),
    close: async () => {
      await ref.close();
      await proxy.close();
    },
  };
}

/**
 * Retries a READ while the client reconnects to the master; bounded. Besides STORE_UNAVAILABLE, a read sent while
 * the cluster client's fresh connection to that master is still opening is rejected "Connection is closed." and so
 * reported OUTCOME_UNKNOWN although it was never sent (README "Redis Cluster"); a read is safe to repeat.
 */
async function retryRead<T>(op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof AtomicError && ['STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN'].includes(err.code)) || attempt >= 100) throw err;
      await sleep(20);
    }
  }
}

/**
 * Opens a (100) and b (0), loses the reply of one transfer of 30 without a key, then waits until anything the
 * client might resend has run (a round trip on the same master after the reconnect, then longer than the
 * broken configuration's resend delay). Returns the outcome and how often the transfer was applied.
 */
async function lostTransfer(proxied: Proxied, trigger: RegExp): Promise<{ outcome: { error?: unknown; value?: unknown }; applied: number }> {
  const { ledger, proxy, master, ledgerName } = proxied;
  const [a, b] = uniqueIds('a', 'b');
  await ledger.open({ id: a, balance: 100 });
  await ledger.open({ id: b });
  proxy.arm(trigger);
  const outcome = await ledger.transfer({ from: a, to: b, amount: 30 }).then((value) => ({ value }), (error: unknown) => ({ error }));
  expect(proxy.drops).toBe(1); // the reply really was lost
  await retryRead(() => ledger.get(a));
  await sleep(500);
  await retryRead(() => ledger.get(a));
  const [from, to] = [await accountInRedis(master, ledgerName, a), await accountInRedis(master, ledgerName, b)];
  const applied = (100 - from.balance!) / 30;
  // whatever happened, it happened whole: balances, both histories and money agree
  expect({ to: to.balance, fromEntries: from.history.length, toEntries: to.history.length }).toEqual({ to: 30 * applied, fromEntries: applied, toEntries: applied });
  return { outcome, applied };
}

describe.each<['functions' | 'transactions', RegExp]>([
  ['functions', /accounts_transfer/],
  ['transactions', /\*1\r\n\$4\r\nexec\r\n/i], // the EXEC of the WATCH transaction, on its dedicated connection to the master
])('a lost reply on a cluster, the service\'s client options (%s)', (strategy, trigger) => {
  let proxied: Proxied;
  beforeEach(async () => (proxied = await proxiedLedger(strategy)));
  afterEach(() => proxied.close());

  it('is OUTCOME_UNKNOWN and the transfer was applied exactly once: never resent', async () => {
    const { outcome, applied } = await lostTransfer(proxied, trigger);
    expect(outcome.error).toBeInstanceOf(AtomicError);
    expect((outcome.error as AtomicError).code).toBe('OUTCOME_UNKNOWN');
    expect(applied).toBe(1);
  });
});

describe('the same lost reply with a BROKEN configuration: the cluster client resends (retryDelayOnFailover: 100)', () => {
  let proxied: Proxied;
  beforeEach(async () => (proxied = await proxiedLedger('functions', { retryDelayOnFailover: 100 })));
  afterEach(() => proxied.close());

  it('applies the transfer twice — the check above bites, and retryDelayOnFailover: 0 is what prevents it', async () => {
    const { outcome, applied } = await lostTransfer(proxied, /accounts_transfer/);
    expect(applied).toBe(2);
    // and the caller was told "done", about the second run
    expect(outcome.value).toMatchObject({ from: { balance: 40 }, to: { balance: 60 }, amount: 30 });
  });
});
