import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { isReplayed, KeySpace } from '@kernel/core';
import { connectRedis, durabilityOptions, execMulti } from '@kernel/redis';
import { RedisServer } from '@kernel/testing';
import { AccountKeys } from '../../src/accounts/keys';
import { uniqueIds } from '../support/accounts-fixture';
import { atomicRejection, REDIS_STRATEGIES, wireLedger, Wired } from './helpers';

/**
 * waitReplicas on a standalone master with one replica: an acknowledged write is on the replica when the call
 * returns; with the replica gone the write is reported OUTCOME_UNKNOWN (it did happen on the master) and a
 * retry with the same idempotency key replays it — and succeeds once the replica acknowledges it.
 */
let master: RedisServer;
let replica: RedisServer;
jest.setTimeout(60_000);
// A full sync writes an RDB (the master's for a disk-based sync, the replica's as it loads): keep it out of the cwd.
const dir = mkdtempSync(join(tmpdir(), 'redis-wait-'));

beforeAll(async () => {
  master = await RedisServer.start(['--dir', dir, '--dbfilename', 'master.rdb']);
  replica = await RedisServer.start(['--replicaof', '127.0.0.1', String(master.port), '--dir', dir, '--dbfilename', 'replica.rdb']);
  await replicaInSync();
}, 60_000);
afterAll(async () => {
  await replica?.stop();
  await master?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function replicaInSync(): Promise<void> {
  const client = replica.client();
  try {
    for (;;) {
      const info = await client.info('replication').catch(() => '');
      if (/master_link_status:up/.test(info)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.disconnect();
  }
}

const keys = new AccountKeys(new KeySpace('ra', 'main'));

describe.each(REDIS_STRATEGIES)('waitReplicas: 1 — %s', (strategy) => {
  let wired: Wired;
  let onReplica: Redis;
  beforeAll(async () => {
    wired = await wireLedger(master, strategy, { waitReplicas: 1, waitTimeoutMs: 300 });
    onReplica = replica.client();
  });
  afterAll(async () => {
    await wired.close();
    onReplica.disconnect();
  });

  it('returns only once the replica holds the write', async () => {
    const [a, b] = uniqueIds('a', 'b');
    await wired.ledger.open({ id: a, balance: 100 });
    await wired.ledger.open({ id: b });
    for (let i = 1; i <= 5; i++) {
      await wired.ledger.transfer({ from: a, to: b, amount: 10 });
      expect(await onReplica.hget(keys.account(b), 'b')).toBe(String(10 * i)); // read right after the ack: no wait
    }
  });

  it('reports OUTCOME_UNKNOWN while no replica acknowledges, and a retry with the same key applies it once', async () => {
    const [a, b, idempotencyKey] = uniqueIds('a', 'b', 'key');
    await wired.ledger.open({ id: a, balance: 100 });
    await wired.ledger.open({ id: b });
    await replica.kill();
    try {
      const first = await atomicRejection(wired.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey }));
      expect(first.code).toBe('OUTCOME_UNKNOWN');
      expect(first.details).toMatchObject({ acknowledged: 0, waitReplicas: 1 });
      // It was applied on the master; the retry replays it and, still unacknowledged, is still not confirmed.
      expect(await wired.ledger.get(a)).toMatchObject({ balance: 70 });
      const second = await atomicRejection(wired.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey }));
      expect(second.code).toBe('OUTCOME_UNKNOWN');
    } finally {
      await replica.restart();
      await replicaInSync();
    }
    const receipt = await wired.ledger.transfer({ from: a, to: b, amount: 30 }, { idempotencyKey });
    expect(isReplayed(receipt)).toBe(true);
    expect(await wired.ledger.get(a)).toMatchObject({ balance: 70 }); // once
    expect(await onReplica.hget(keys.account(a), 'b')).toBe('70');
  });
});

describe('execMulti under waitReplicas', () => {
  it('waits on the connection that ran EXEC, and reports OUTCOME_UNKNOWN without a replica', async () => {
    const client = await connectRedis({ url: master.url, waitReplicas: 1, waitTimeoutMs: 300 });
    const onReplica = replica.client();
    try {
      const [key] = uniqueIds('multi');
      await expect(execMulti(client, (m) => m.set(key, 'x').incr(`${key}:n`))).resolves.toEqual(['OK', 1]);
      expect(await onReplica.get(key)).toBe('x');
      await replica.kill();
      try {
        await expect(execMulti(client, (m) => m.incr(`${key}:n`))).rejects.toMatchObject({ code: 'OUTCOME_UNKNOWN' });
        expect(await client.get(`${key}:n`)).toBe('2'); // applied on the master
      } finally {
        await replica.restart();
        await replicaInSync();
      }
    } finally {
      client.disconnect();
      onReplica.disconnect();
    }
  });

  it('refuses a WAIT timeout that would block forever or outlast the command timeout', () => {
    expect(durabilityOptions({})).toBeUndefined();
    expect(durabilityOptions({ waitReplicas: 2 })).toEqual({ replicas: 2, timeoutMs: 1000 });
    expect(() => durabilityOptions({ waitReplicas: 1, waitTimeoutMs: 0 })).toThrow(/waitTimeoutMs/);
    expect(() => durabilityOptions({ waitReplicas: 1, waitTimeoutMs: 5000, commandTimeoutMs: 5000 })).toThrow(/below commandTimeoutMs/);
    expect(() => durabilityOptions({ waitReplicas: -1 })).toThrow(/waitReplicas/);
  });
});
