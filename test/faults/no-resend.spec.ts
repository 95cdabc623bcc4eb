/**
 * The no-resend setting, shown to matter (standalone; test/cluster/no-resend.cluster.spec.ts is the cluster form).
 * A LostReplyProxy forwards one accounts_transfer FCALL to a private redis-server, drops its reply and resets the
 * client's socket: the transfer ran, the client never heard back. The transfer carries no idempotency key, so a
 * resend applies it again; the balance and the history count the effects (no MONITOR).
 *
 * One test, two client configurations of the same ledger (RedisAtomicModule + AccountsModule, functions):
 * - the service's options (connection.ts: `autoResendUnfulfilledCommands: false`, `maxRetriesPerRequest: 0`):
 *   OUTCOME_UNKNOWN, applied once;
 * - a BROKEN configuration, ioredis' resend switched back on (`autoResendUnfulfilledCommands: true`,
 *   `maxRetriesPerRequest: 1`): the client reconnects and resends, the transfer is applied twice and the caller
 *   is told "done". So the check bites, and those two options are what prevent the double effect.
 */
import type { RedisOptions } from 'ioredis';
import type Redis from 'ioredis';
import { AtomicError } from '@kernel/core';
import { RedisServer } from '@kernel/testing';
import { accountInRedis, LostReplyProxy, sleep, waitFor, wireLedger, WiredLedger } from './support';

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

describe.each<[string, RedisOptions, number]>([
  ['the service\'s options: never resent', {}, 1],
  ['BROKEN: autoResendUnfulfilledCommands true, maxRetriesPerRequest 1 — resent', { autoResendUnfulfilledCommands: true, maxRetriesPerRequest: 1 }, 2],
])('a transfer whose reply is lost — %s', (_, redis, expected) => {
  let proxy: LostReplyProxy;
  let wired: WiredLedger;
  const ledger = `nr-${expected}`;
  beforeEach(async () => {
    proxy = await LostReplyProxy.start(server.port);
    wired = await wireLedger(proxy.url, 'functions', { redis }, ledger);
  });
  afterEach(async () => {
    await wired.close();
    await proxy.close();
  });

  it(`is applied ${expected === 1 ? 'once, and reported OUTCOME_UNKNOWN' : 'twice, and reported done'}`, async () => {
    await wired.ledger.open({ id: 'a', balance: 100 });
    await wired.ledger.open({ id: 'b' });
    proxy.arm(/accounts_transfer/);
    const outcome = await wired.ledger.transfer({ from: 'a', to: 'b', amount: 30 }).then((value) => ({ value }), (error: unknown) => ({ error }));
    expect(proxy.drops).toBe(1);

    // anything the client would resend has run once it is connected again and answered a later command
    await waitFor(() => wired.client.status === 'ready', 'the client to reconnect');
    for (let attempt = 0; ; attempt++) {
      const ok = await wired.ledger.get('a').then(() => true, () => false);
      if (ok || attempt > 100) break;
      await sleep(20);
    }
    await sleep(300);
    const [a, b] = [await accountInRedis(admin, ledger, 'a'), await accountInRedis(admin, ledger, 'b')];
    expect({ a: a.balance, b: b.balance, entries: [a.history.length, b.history.length] })
      .toEqual({ a: 100 - 30 * expected, b: 30 * expected, entries: [expected, expected] });
    if (expected === 1) {
      expect(outcome).toEqual({ error: expect.any(AtomicError) });
      expect((outcome as { error: AtomicError }).error.code).toBe('OUTCOME_UNKNOWN');
    } else {
      expect(outcome).toEqual({ value: expect.objectContaining({ from: expect.objectContaining({ balance: 40 }) }) });
    }
  });
});
