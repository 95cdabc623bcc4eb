import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FunctionLibraries } from '@kernel/nest';
import { RedisCluster } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { Answer, DocumentedClient, OpenApiDocument, ResponseValidator } from '../support/openapi';

/**
 * /health and /health/ready of the service on a Redis Cluster (3 masters + 3 replicas): every master that owns
 * slots is listed with its address, whether it answers and the version of each library loaded there. A master
 * that lost its libraries, and a master that died (before and after its replica took over), are reported — by
 * probes that only look. Every answer is checked against the service's own OpenAPI document.
 */
let cluster: RedisCluster;
let app: NestFastifyApplication;
let api: DocumentedClient;
const LIBRARIES = ['accounts', 'inventory', 'kv', 'orders'];

beforeAll(async () => {
  cluster = await RedisCluster.start();
  // no background sweeps: they would reload a flushed library behind the probe's back
  app = await createApp(loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes.join(','), RESERVATION_SWEEP_MS: '0', PENDING_SWEEP_MS: '0' }),
    { logger: false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const doc: OpenApiDocument = (await app.inject({ method: 'GET', url: '/docs-json' })).json();
  api = new DocumentedClient(app, new ResponseValidator(doc));
}, 120_000);
afterAll(async () => {
  await app?.close();
  await cluster?.stop();
}, 30_000);
jest.setTimeout(60_000);

afterEach(() => expect(api.problems).toEqual([])); // every answer as documented

const health = (): Promise<Answer> => api.call('GET /health');
const ready = (): Promise<Answer> => api.call('GET /health/ready');
const sorted = (values: string[]) => [...values].sort();

/** Polls /health until `done` holds (the bound only keeps a broken test from hanging). */
async function healthUntil(done: (answer: Answer) => boolean, what: string): Promise<Answer> {
  for (const started = Date.now(); ;) {
    const answer = await health();
    if (done(answer)) return answer;
    if (Date.now() - started > 60_000) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('lists every master with each library at this build\'s version; /health/ready names them in both indicators', async () => {
  const masters = sorted((await cluster.masters()).map((m) => m.address));
  expect(masters).toHaveLength(3);
  const { status, body } = await health();
  expect(status).toBe(200);
  expect(body).toMatchObject({ status: 'ok', store: 'redis', strategy: 'functions' });
  expect(body.error).toBeUndefined();
  expect(sorted(body.nodes.map((n: { address: string }) => n.address))).toEqual(masters);
  for (const node of body.nodes) {
    expect(node.reachable).toBe(true);
    expect(sorted(node.functions.map((f: { library: string }) => f.library))).toEqual(LIBRARIES);
    for (const f of node.functions) expect(f.version).toBe(f.expected);
  }
  for (const f of body.functions) expect(f.version).toBe(f.expected);

  const probe = await ready();
  expect(probe.status).toBe(200);
  expect(sorted(probe.body.info.redis.nodes.map((n: { address: string }) => n.address))).toEqual(masters);
  expect(sorted(Object.keys(probe.body.info.functions.nodes))).toEqual(masters);
});

it('a master that lost its libraries: 503 naming that master only; the probes load nothing there', async () => {
  const [victim, ...others] = await cluster.masters();
  const node = cluster.nodeClient(victim.port);
  await node.function('FLUSH');

  const { status, body } = await health();
  expect(status).toBe(503);
  expect(body.status).toBe('unavailable');
  const byAddress = new Map<string, { reachable: boolean; functions: { library: string; version: string | null; expected: string }[] }>(
    body.nodes.map((n: { address: string }) => [n.address, n]));
  expect(byAddress.get(victim.address)).toMatchObject({ reachable: true });
  expect(byAddress.get(victim.address)!.functions.map((f) => f.version)).toEqual([null, null, null, null]);
  for (const other of others) {
    expect(byAddress.get(other.address)!.functions.every((f) => f.version === f.expected)).toBe(true);
  }
  expect(body.functions.map((f: { version: string | null }) => f.version)).toEqual([null, null, null, null]);

  const probe = await ready();
  expect(probe.status).toBe(503);
  expect(probe.body).toMatchObject({ code: 'NOT_READY', error: { functions: { status: 'down' } }, info: { redis: { status: 'up' } } });
  expect(Object.values(probe.body.error.functions.nodes[victim.address])).toEqual([null, null, null, null]);
  expect(await node.call('FUNCTION', 'LIST')).toEqual([]); // probes only look

  // Loaded again (as the next call needing it would: FunctionLibrary's shared reload): ready again.
  await Promise.all(app.get(FunctionLibraries).all().map((library) => library.load()));
  expect((await health()).status).toBe(200);
  expect((await ready()).status).toBe(200);
});

// Last in this file: it kills a master.
it('a master killed: reported unreachable until its replica takes over, then the new master is listed with every library', async () => {
  const before = await cluster.masters();
  let down: Answer | undefined;
  let readyWhileDown: Answer | undefined;
  const { killed, promoted } = await cluster.killMaster(before[0].slots[0][0], async (dead) => {
    down = await healthUntil((a) => a.body.nodes?.some((n: { address: string; reachable: boolean }) => n.address === dead.address && !n.reachable),
      `${dead.address} to be reported unreachable`);
    readyWhileDown = await ready();
  });

  expect(down!.status).toBe(503);
  expect(down!.body.error).toContain(killed.address);
  expect(down!.body.nodes).toHaveLength(3);
  const dead = down!.body.nodes.find((n: { address: string }) => n.address === killed.address);
  expect(dead).toEqual({ address: killed.address, reachable: false, error: expect.any(String) });
  expect(down!.body.nodes.filter((n: { reachable: boolean }) => n.reachable)).toHaveLength(2);
  if (readyWhileDown!.status === 503) { // (the failover may already have finished by the second probe)
    expect(readyWhileDown!.body).toMatchObject({ code: 'NOT_READY', error: { redis: { status: 'down' } } });
    expect(readyWhileDown!.body.error.redis.nodes).toContainEqual({ address: killed.address, reachable: false, message: expect.any(String) });
  }

  const after = await healthUntil((a) => a.status === 200, 'the service to be ready on the new master');
  const addresses = sorted(after.body.nodes.map((n: { address: string }) => n.address));
  expect(addresses).toEqual(sorted((await cluster.masters()).map((m) => m.address)));
  expect(addresses).toContain(promoted.address);
  expect(addresses).not.toContain(killed.address);
  const replacement = after.body.nodes.find((n: { address: string }) => n.address === promoted.address);
  expect(replacement.functions.every((f: { version: string; expected: string }) => f.version === f.expected)).toBe(true); // replicated
  expect((await ready()).status).toBe(200);
}, 180_000);
