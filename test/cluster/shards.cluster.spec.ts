import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { keySlot } from '@kernel/core';
import { RedisCluster } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

/**
 * One service, many shards, on a local Redis Cluster (3 masters + 3 replicas): the shard routes put each ledger,
 * shop and kv namespace on the master owning its hash tag's slot, traffic on several ledgers runs on every master
 * at once, and each ledger's money is conserved on its own.
 */
let cluster: RedisCluster;
let app: NestFastifyApplication;
beforeAll(async () => {
  cluster = await RedisCluster.start();
  app = await createApp(loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), ATOMIC_STRATEGY: 'functions' }), { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
}, 120_000);
afterAll(async () => {
  await app?.close();
  await cluster?.stop();
}, 30_000);
jest.setTimeout(120_000);

async function call(method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method, url, payload: payload as never });
  return { status: res.statusCode, body: res.body ? res.json() : undefined };
}

/** Shard names whose slots are owned by `count` different masters (name → the owner's port). */
async function shardsOnDistinctMasters(count: number, base: string): Promise<Map<string, number>> {
  const byMaster = new Map<number, string>();
  for (let i = 0; byMaster.size < count; i++) {
    const owner = (await cluster.owner(keySlot(`${base}${i}`))).port;
    if (!byMaster.has(owner)) byMaster.set(owner, `${base}${i}`);
  }
  return new Map([...byMaster].map(([port, name]) => [name, port]));
}

/** Every key of the shard, per master: it must live on its owner only. */
async function keysByMaster(shard: string): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const master of await cluster.masters()) {
    counts.set(master.port, (await cluster.nodeClient(master.port).keys(`ra:{${shard}}:*`)).length);
  }
  return counts;
}

async function fcallsByMaster(): Promise<Map<number, number>> {
  const calls = new Map<number, number>();
  for (const master of await cluster.masters()) {
    const stats = await cluster.nodeClient(master.port).info('commandstats');
    calls.set(master.port, Number(/cmdstat_fcall:calls=(\d+)/.exec(stats)?.[1] ?? 0));
  }
  return calls;
}

it('ledgers on three masters: concurrent transfers through /ledgers/:ledger/transfers, each ledger conserved, keys on their owner only', async () => {
  const ledgers = await shardsOnDistinctMasters(3, 'region');
  const before = await fcallsByMaster();
  const ACCOUNTS = 4;
  for (const ledger of ledgers.keys()) {
    for (let i = 0; i < ACCOUNTS; i++) expect((await call('POST', `/ledgers/${ledger}/accounts`, { id: `a${i}`, balance: 1000 })).status).toBe(201);
  }
  // 3 × 60 transfers in flight together, random pairs, some refused for funds
  let seed = 7;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const outcomes = await Promise.all([...ledgers.keys()].flatMap((ledger) => Array.from({ length: 60 }, () => {
    const from = random(ACCOUNTS);
    const to = (from + 1 + random(ACCOUNTS - 1)) % ACCOUNTS;
    return call('POST', `/ledgers/${ledger}/transfers`, { from: `a${from}`, to: `a${to}`, amount: 1 + random(100) });
  })));
  const statuses = outcomes.map((o) => (o.status === 201 ? 201 : `${o.status} ${o.body.code}`));
  expect(statuses.filter((s) => s !== 201 && s !== '422 INSUFFICIENT_FUNDS')).toEqual([]);
  expect(statuses.filter((s) => s === 201).length).toBeGreaterThan(60);
  for (const [ledger, owner] of ledgers) {
    let total = 0;
    for (let i = 0; i < ACCOUNTS; i++) total += (await call('GET', `/ledgers/${ledger}/accounts/a${i}`)).body.balance;
    expect({ ledger, total }).toEqual({ ledger, total: ACCOUNTS * 1000 });
    const keys = await keysByMaster(ledger);
    expect(keys.get(owner)).toBeGreaterThan(ACCOUNTS); // accounts, histories, events…
    for (const [port, count] of keys) if (port !== owner) expect({ ledger, port, count }).toEqual({ ledger, port, count: 0 });
  }
  // every master ran FCALLs for its ledger
  const after = await fcallsByMaster();
  for (const port of ledgers.values()) expect(after.get(port)! - before.get(port)!).toBeGreaterThan(60);
});

it('shops and kv namespaces likewise: each on the master of its slot, apart from the others', async () => {
  const shops = await shardsOnDistinctMasters(3, 'store');
  for (const shop of shops.keys()) {
    expect((await call('PUT', `/shops/${shop}/inventory/p`, { stock: 5 })).status).toBe(200);
    expect((await call('POST', `/shops/${shop}/orders`, { userId: 'u', items: [{ productId: 'p', quantity: 2, unitPrice: 10 }] })).status).toBe(201);
    expect((await call('GET', `/shops/${shop}/inventory/p`)).body).toMatchObject({ stock: 3 });
    expect((await call('GET', `/shops/${shop}/users/u/stats`)).body).toMatchObject({ totalOrders: 1 });
  }
  for (const [shop, owner] of shops) {
    for (const [port, count] of await keysByMaster(shop)) expect({ shop, port, some: count > 0 }).toEqual({ shop, port, some: port === owner });
  }
  const namespaces = await shardsOnDistinctMasters(3, 'tenant');
  for (const namespace of namespaces.keys()) {
    const tx = { conditions: [{ key: 'k', op: 'absent' }], updates: [{ op: 'set', key: 'k', value: namespace }] };
    expect((await call('POST', `/namespaces/${namespace}/kv/transactions`, tx)).status).toBe(200);
    expect((await call('POST', `/namespaces/${namespace}/kv/transactions`, tx)).body).toMatchObject({ code: 'CONDITION_FAILED' });
    expect((await call('GET', `/namespaces/${namespace}/kv/k`)).body).toMatchObject({ value: namespace });
  }
  for (const [namespace, owner] of namespaces) {
    for (const [port, count] of await keysByMaster(namespace)) expect({ namespace, port, some: count > 0 }).toEqual({ namespace, port, some: port === owner });
  }
});
