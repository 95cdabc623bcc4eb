/**
 * The board on a local Redis Cluster (3 masters, no replicas: the smallest cluster with several masters): Health pings
 * every master, and ledgers whose hash tags live on different masters are each shown and audited from their own shard
 * (XINFO STREAM and XRANGE reach the master owning the ledger's stream).
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { keySlot } from '@kernel/core';
import { RedisCluster } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

let cluster: RedisCluster;
let app: NestFastifyApplication;
jest.setTimeout(120_000);

beforeAll(async () => {
  cluster = await RedisCluster.start({ masters: 3, replicas: 0 });
}, 120_000);
afterAll(async () => {
  await app?.close();
  await cluster?.stop();
}, 30_000);

it('health lists every master with its libraries; ledgers on different masters are shown and audited', async () => {
  // three ledger names whose slots three different masters own
  const names = new Map<number, string>();
  for (let i = 0; names.size < 3; i++) {
    const owner = (await cluster.owner(keySlot(`led${i}`))).port;
    if (!names.has(owner)) names.set(owner, `led${i}`);
  }
  const ledgers = [...names.values()];
  app = await createApp(loadConfig({
    REDIS_CLUSTER_NODES: cluster.nodes.join(','), ATOMIC_STRATEGY: 'functions', BOARD_ENABLED: 'true', LEDGER: ledgers[0], LEDGERS: ledgers.slice(1).join(','),
  }), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const res = await app.inject({ method, url, payload });
    return { status: res.statusCode, body: res.json() };
  };

  const health = await call('GET', '/board/api/health');
  expect(health.body).toMatchObject({ strategy: 'functions', store: 'redis' });
  const masters = (await cluster.masters()).map((m) => `127.0.0.1:${m.port}`).sort();
  expect(health.body.nodes.map((n: { node: string; ok: boolean }) => [n.node, n.ok]).sort()).toEqual(masters.map((m) => [m, true]));
  for (const node of health.body.nodes) {
    const accounts = node.libraries.find((l: { library: string }) => l.library === 'accounts');
    expect(accounts).toEqual({ library: 'accounts', version: accounts.expected, expected: expect.stringMatching(/^[0-9a-f]{16}$/) });
  }

  for (const [i, ledger] of ledgers.entries()) {
    expect((await call('POST', `/ledgers/${ledger}/accounts`, { id: 'a', balance: 100 * (i + 1) })).status).toBe(201);
    expect((await call('POST', `/ledgers/${ledger}/accounts`, { id: 'b' })).status).toBe(201);
    expect((await call('POST', `/ledgers/${ledger}/transfers`, { from: 'a', to: 'b', amount: 10 })).status).toBe(201);
  }
  const overview = await call('GET', '/board/api/overview');
  expect(overview.body.ledgers.map((l: { name: string; accounts: number; totalPosted: number }) => [l.name, l.accounts, l.totalPosted]))
    .toEqual(ledgers.map((name, i) => [name, 2, 100 * (i + 1)]));
  for (const ledger of ledgers) {
    expect((await call('GET', `/board/api/ledgers/${ledger}/audit`)).body).toMatchObject({ ledger, verdict: 'consistent', accounts: 2, events: 3 });
  }
});
