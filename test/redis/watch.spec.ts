import type Redis from 'ioredis';
import { AtomicError } from '@kernel/core';
import { connectRedis, WatchOptions, WatchRunner } from '@kernel/redis';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import type { TransferReceipt } from '../../src/accounts/accounts.port';
import {
  atomicRejection, clientList, killClient, rejectionOf, waitFor, wireLedger, Wired,
} from './helpers';

/**
 * WATCH transactions (pitfalls 4–8): a dropped WATCH connection never commits a stale read, hot keys end in
 * success or CONFLICT with money conserved, abort paths UNWATCH, and drops mid-operation are typed.
 */

const ACCT = (id: string) => `ra:{main}:acct:${id}`;
const HIST = (id: string) => `ra:{main}:hist:${id}`;

let server: RedisServer;
let admin: Redis;
const cleanups: (() => unknown)[] = [];

async function wire(strategy: 'functions' | 'transactions', watch?: Partial<WatchOptions>): Promise<Wired> {
  const wired = await wireLedger(server, strategy, watch ? { watch } : {});
  cleanups.push(() => wired.close());
  return wired;
}

/** A WatchRunner on its own shared client, as the kernel module builds it. */
async function runner(options: Partial<WatchOptions> = {}): Promise<WatchRunner> {
  const shared = await connectRedis({ url: server.url });
  const watch = new WatchRunner(shared, options);
  cleanups.push(() => { watch.close(); shared.disconnect(); });
  return watch;
}

beforeAll(async () => {
  server = await RedisServer.start();
  admin = server.client();
});

beforeEach(async () => {
  await admin.flushall();
});

afterEach(async () => {
  await admin.call('CLIENT', 'UNPAUSE').catch(() => undefined);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await server?.stop();
});

describe('(a) a WATCH connection killed between WATCH and EXEC', () => {
  it('control: a plain ioredis client that reconnects commits the stale write (ioredis #1686)', async () => {
    const plain = server.client(); // default options: reconnects, resends
    await admin.set('k', '10');

    await plain.watch('k');
    const read = Number(await plain.get('k'));
    const reconnected = new Promise((resolve) => plain.once('ready', resolve));
    await killClient(admin, await plain.client('ID'));
    await reconnected; // the WATCH died with the old connection
    await admin.set('k', '100'); // would have aborted EXEC under a live WATCH

    const replies = await plain.multi().set('k', String(read + 1)).exec();
    expect(replies).toEqual([[null, 'OK']]);
    expect(await admin.get('k')).toBe('11'); // the stale computation committed over 100
    plain.disconnect();
  });

  it('WatchRunner retries from a fresh read on a new connection', async () => {
    const watch = await runner();
    await admin.set('k', '10');
    const reads: number[] = [];
    const connections: Redis[] = [];

    const result = await watch.run(['k'], async (connection) => {
      connections.push(connection);
      const read = Number(await connection.get('k'));
      reads.push(read);
      if (reads.length === 1) {
        await killClient(admin, await connection.client('ID'));
        await waitFor(() => connection.status === 'end', 'the killed connection to end');
        await admin.set('k', '100');
      }
      return { write: (m) => m.set('k', String(read + 1)), result: () => read + 1 };
    });

    expect(reads).toEqual([10, 100]); // attempts > 1, the second from a fresh read
    expect(connections[1]).not.toBe(connections[0]);
    expect(result).toBe(101);
    expect(await admin.get('k')).toBe('101'); // never 11, the stale computation
  });

  it('without waiting for the client to notice the kill: a retry or a typed error, never the stale write', async () => {
    const watch = await runner();
    for (let round = 0; round < 10; round++) {
      await admin.set('k', '10');
      let attempts = 0;
      const outcome = await watch.run(['k'], async (connection) => {
        attempts++;
        const read = Number(await connection.get('k'));
        if (attempts === 1) {
          await killClient(admin, await connection.client('ID'));
          await admin.set('k', '100');
        }
        return { write: (m) => m.set('k', String(read + 1)), result: () => read + 1 };
      }).then((value) => ({ value }), (error) => ({ error }));

      const final = await admin.get('k');
      expect(final).not.toBe('11');
      if ('value' in outcome) {
        expect(attempts).toBeGreaterThan(1);
        expect(outcome.value).toBe(101);
        expect(final).toBe('101');
      } else {
        expect(outcome.error).toBeInstanceOf(AtomicError);
        expect(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE']).toContain((outcome.error as AtomicError).code);
        expect(final).toBe('100');
      }
    }
  });
});

describe('(b) hot-key contention', () => {
  it.each([
    ['in-process queueing on (default)', { maxAttempts: 3 }],
    ['WATCH only (queueSameKeys: false)', { maxAttempts: 3, queueSameKeys: false }],
  ] as [string, Partial<WatchOptions>][])('%s: 32 workers on 2 accounts end in success or CONFLICT; money is conserved', async (_name, options) => {
    const { ledger } = await wire('transactions', options);
    await ledger.open({ id: 'a', balance: 1_000_000 });
    await ledger.open({ id: 'b', balance: 1_000_000 });

    const successes: TransferReceipt[] = [];
    const conflicts: AtomicError[] = [];
    const others: unknown[] = [];
    await Promise.all(Array.from({ length: 32 }, async (_, worker) => {
      for (let i = 0; i < 5; i++) {
        const [from, to] = (worker + i) % 2 ? ['a', 'b'] : ['b', 'a'];
        try {
          successes.push(await ledger.transfer({ from, to, amount: 1 + ((worker * 7 + i) % 13) }));
        } catch (err) {
          if (err instanceof AtomicError && err.code === 'CONFLICT') conflicts.push(err);
          else others.push(err);
        }
      }
    }));

    expect(others).toEqual([]);
    expect(successes.length + conflicts.length).toBe(160);
    expect(successes.length).toBeGreaterThan(0); // progress: some EXEC always wins a WATCH race
    for (const conflict of conflicts) expect(conflict.details).toEqual({ attempts: 3 });

    const a = (await ledger.get('a')).balance;
    const b = (await ledger.get('b')).balance;
    expect(a + b).toBe(2_000_000);
    const net = successes.reduce((sum, r) => sum + (r.from.id === 'a' ? -r.amount : r.amount), 0);
    expect(a).toBe(1_000_000 + net);

    expect((await admin.llen(HIST('a'))) + (await admin.llen(HIST('b')))).toBe(2 * successes.length);
    const ids = async (id: string) => (await admin.lrange(HIST(id), 0, -1)).map((entry) => entry.split('|')[0]).sort();
    const expected = successes.map((r) => r.id).sort();
    expect(await ids('a')).toEqual(expected);
    expect(await ids('b')).toEqual(expected);
  });
});

describe('(c) abort paths UNWATCH before the connection goes back to the pool', () => {
  /**
   * With a pool of one, the aborted transaction's connection serves the next one. If its WATCH on
   * acct:a were still live, touching acct:a during the next transaction would make that EXEC fail
   * (null) and force a second attempt.
   */
  async function nextTransactionAttempts(watch: WatchRunner, firstId: number): Promise<number> {
    let attempts = 0;
    await watch.run([ACCT('c')], async (connection) => {
      attempts++;
      expect(await connection.client('ID')).toBe(firstId); // the same pooled connection
      if (attempts === 1) await admin.hset(ACCT('a'), 'b', '10'); // touches the previously watched key
      return { write: (m) => m.set('marker', String(attempts)), result: () => attempts };
    });
    return attempts;
  }

  async function setUp(): Promise<{ wired: Wired; connectionId: number; connection: Redis }> {
    const wired = await wire('transactions', { poolSize: 1 });
    await wired.ledger.open({ id: 'a', balance: 10 });
    await wired.ledger.open({ id: 'b', balance: 0 });
    let connectionId = 0;
    let connection: Redis | undefined;
    await wired.watch.run(['dummy'], async (c) => {
      connection = c;
      connectionId = await c.client('ID');
      return { write: () => undefined, result: () => undefined };
    });
    return { wired, connectionId, connection: connection! };
  }

  it('control: a WATCH left on the pooled connection aborts the next transaction (the test can fail)', async () => {
    const { wired, connectionId, connection } = await setUp();
    await connection.watch(ACCT('a')); // what a skipped UNWATCH would leave behind
    expect(await nextTransactionAttempts(wired.watch, connectionId)).toBe(2);
  });

  it('after INSUFFICIENT_FUNDS (a business failure)', async () => {
    const { wired, connectionId } = await setUp();
    const err = await atomicRejection(wired.ledger.transfer({ from: 'a', to: 'b', amount: 11 }));
    expect(err.code).toBe('INSUFFICIENT_FUNDS');
    expect(await nextTransactionAttempts(wired.watch, connectionId)).toBe(1);
    expect(await admin.get('marker')).toBe('1');
  });

  it('after STORE_CORRUPTED thrown while reading', async () => {
    const { wired, connectionId } = await setUp();
    await admin.set(HIST('b'), 'not a list');
    const err = await atomicRejection(wired.ledger.transfer({ from: 'a', to: 'b', amount: 1 }));
    expect(err.code).toBe('STORE_CORRUPTED');
    expect(await nextTransactionAttempts(wired.watch, connectionId)).toBe(1);
  });
});

describe('(d) a connection drop in the middle is typed, never success', () => {
  it('killed before EXEC on every attempt → STORE_UNAVAILABLE, nothing written', async () => {
    const watch = await runner();
    await admin.set('k', '10');
    let attempts = 0;
    const err = await atomicRejection(watch.run(['k'], async (connection) => {
      attempts++;
      await connection.get('k');
      await killClient(admin, await connection.client('ID'));
      await waitFor(() => connection.status === 'end', 'the killed connection to end');
      return { write: (m) => m.set('k', 'written'), result: () => 'written' };
    }));
    expect(err.code).toBe('STORE_UNAVAILABLE');
    expect(attempts).toBe(3); // a drop is retried twice on fresh connections, then reported
    expect(await admin.get('k')).toBe('10');
  });

  it('transactions: the WATCH connection killed while its MULTI is queued → OUTCOME_UNKNOWN or STORE_UNAVAILABLE', async () => {
    const { ledger } = await wire('transactions');
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b', balance: 0 });
    const before = await keyspaceSnapshot(admin);

    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE'); // reads run, the queued HINCRBY waits
    const transfer = rejectionOf(ledger.transfer({ from: 'a', to: 'b', amount: 30 }));
    let inMulti: Record<string, string> | undefined;
    await waitFor(async () => {
      inMulti = (await clientList(admin)).find((c) => c.flags.includes('x') && c.flags.includes('b'));
      return inMulti !== undefined;
    }, 'the transfer to block inside MULTI');
    await killClient(admin, inMulti!.id);

    const err = await transfer;
    expect(err).toBeInstanceOf(AtomicError);
    expect(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE']).toContain((err as AtomicError).code);
    await admin.call('CLIENT', 'UNPAUSE');
    expect(await keyspaceSnapshot(admin)).toBe(before); // here we know: the server never ran it
    expect(await ledger.transfer({ from: 'a', to: 'b', amount: 30 })).toMatchObject({ from: { balance: 70 } });
  });

  it('functions: the shared connection killed while FCALL waits → typed, and never re-sent after reconnecting', async () => {
    const { ledger, client } = await wire('functions');
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b', balance: 0 });
    const before = await keyspaceSnapshot(admin);

    await admin.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    const transfer = rejectionOf(ledger.transfer({ from: 'a', to: 'b', amount: 30 }));
    let waiting: Record<string, string> | undefined;
    await waitFor(async () => {
      waiting = (await clientList(admin)).find((c) => c.cmd === 'fcall' && c.flags.includes('b'));
      return waiting !== undefined;
    }, 'the FCALL to block');
    await killClient(admin, waiting!.id);

    const err = await transfer;
    expect(err).toBeInstanceOf(AtomicError);
    expect(['OUTCOME_UNKNOWN', 'STORE_UNAVAILABLE']).toContain((err as AtomicError).code);
    await admin.call('CLIENT', 'UNPAUSE');
    await waitFor(() => client.status === 'ready', 'the shared client to reconnect');
    expect(await ledger.get('a')).toEqual({ id: 'a', balance: 100, minBalance: 0, pendingDebits: 0, pendingCredits: 0, available: 100 }); // a round trip after reconnecting
    expect(await keyspaceSnapshot(admin)).toBe(before); // not run, and not re-sent
  });

  it('idle pooled connections that died (e.g. CLIENT KILL, failover) do not fail the next transactions', async () => {
    const { ledger, watch } = await wire('transactions', { poolSize: 4 });
    await ledger.open({ id: 'a', balance: 100 });
    await ledger.open({ id: 'b', balance: 0 });
    // Open 4 pooled connections: 4 transactions in flight at once.
    const pooled: Redis[] = [];
    let entered = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    // distinct keys: the runner queues same-key transactions of one process (queueSameKeys)
    const holders = Array.from({ length: 4 }, (_, i) => watch.run([`holder-${i}`], async (c) => {
      pooled.push(c);
      if (++entered === 4) release();
      await gate;
      return { write: () => undefined, result: () => undefined };
    }));
    await Promise.all(holders);
    expect(new Set(pooled).size).toBe(4);

    // The server drops every idle pooled connection (not the shared client, nor the admin).
    const ids = await Promise.all(pooled.map((c) => c.client('ID')));
    for (const id of ids) await killClient(admin, id);
    await waitFor(() => pooled.every((c) => c.status === 'end'), 'the pooled connections to end');

    // Redis is up: the next transfer must succeed, not report STORE_UNAVAILABLE.
    const receipt = await ledger.transfer({ from: 'a', to: 'b', amount: 1 });
    expect(receipt.from).toEqual({ id: 'a', balance: 99 });
  });
});
