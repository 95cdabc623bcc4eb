/**
 * Stock reservations over HTTP, end to end: the real app (createApp + loadConfig, as main.ts builds it, with its
 * reservation sweeper) on every strategy, against a private redis-server. Every new route, its error codes and
 * statuses, validation, Idempotency-Key replays, orders consuming reservations, and expiry by the service's own
 * sweeper. Refusals are checked for side effects on the raw keyspace (Redis) and the API's view.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type Redis from 'ioredis';
import type { AtomicStrategy } from '@kernel/core';
import { keyspaceSnapshot, RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Res {
  status: number;
  body: any;
  replayed?: string;
}

describe.each<AtomicStrategy>(['functions', 'transactions', 'memory'])('reservations HTTP API, strategy %s', (strategy) => {
  let app: NestFastifyApplication;
  let server: RedisServer | undefined;
  let client: Redis | undefined;
  let n = 0;
  const uid = (prefix: string) => `${prefix}-${++n}`;

  async function call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, key?: string): Promise<Res> {
    const res = await app.inject({ method, url, payload: payload as object | undefined, headers: key ? { 'idempotency-key': key } : {} });
    const replayed = res.headers['idempotent-replayed'] as string | undefined;
    return { status: res.statusCode, body: res.body ? res.json() : undefined, ...(replayed && { replayed }) };
  }

  async function refused(method: 'POST' | 'DELETE', url: string, payload: unknown, status: number, code: string, watch: string[]) {
    const observe = async () => ({ api: await Promise.all(watch.map((u) => call('GET', u))), raw: client ? await keyspaceSnapshot(client) : '' });
    const before = await observe();
    const res = await call(method, url, payload);
    expect({ url, ...res }).toEqual({ url, status, body: expect.objectContaining({ statusCode: status, code }) });
    expect(await observe()).toEqual(before);
    return res.body;
  }

  const product = async (stock: number) => {
    const id = uid('p');
    expect((await call('PUT', `/inventory/${id}`, { stock })).status).toBe(200);
    return id;
  };

  beforeAll(async () => {
    if (strategy !== 'memory') {
      server = await RedisServer.start();
      client = server.client();
    }
    const config = loadConfig({ ATOMIC_STRATEGY: strategy, REDIS_URL: server?.url ?? 'redis://127.0.0.1:1', SHOP: 'e2e-res', RESERVATION_SWEEP_MS: '50' });
    app = await createApp(config, { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app?.close();
    client?.disconnect();
    await server?.stop();
  });

  it('POST /inventory/:productId/reservations → 201; GET …/reservations/:id, GET …/availability → 200; DELETE → 200 released', async () => {
    const p = await product(10);
    const created = await call('POST', `/inventory/${p}/reservations`, { quantity: 3, ttlSeconds: 600 });
    expect(created).toEqual({ status: 201, body: { id: expect.stringMatching(/^[0-9a-f]{32}$/), productId: p, quantity: 3, status: 'held',
      createdAt: expect.stringMatching(ISO), expiresAt: expect.stringMatching(ISO) } });
    const r = created.body;
    expect(Date.parse(r.expiresAt) - Date.parse(r.createdAt)).toBe(600_000);
    expect(await call('GET', `/inventory/${p}/reservations/${r.id}`)).toEqual({ status: 200, body: r });
    expect(await call('GET', `/inventory/${p}/availability`)).toEqual({ status: 200, body: { productId: p, available: 7, held: 3 } });
    expect(await call('GET', `/inventory/${p}`)).toEqual({ status: 200, body: { productId: p, stock: 7 } });
    expect(await call('DELETE', `/inventory/${p}/reservations/${r.id}`)).toEqual({ status: 200, body: { ...r, status: 'released' } });
    expect(await call('GET', `/inventory/${p}/availability`)).toEqual({ status: 200, body: { productId: p, available: 10, held: 0 } });
    const watch = [`/inventory/${p}/availability`, `/inventory/${p}/reservations/${r.id}`];
    await refused('DELETE', `/inventory/${p}/reservations/${r.id}`, undefined, 409, 'RESERVATION_RELEASED', watch);
  });

  it('refusals: 404 RESERVATION_NOT_FOUND / PRODUCT_NOT_FOUND, 409 RESERVATION_PRODUCT_MISMATCH, 422 OUT_OF_STOCK; 404 on GET', async () => {
    const [p, q] = [await product(4), await product(4)];
    const r = (await call('POST', `/inventory/${p}/reservations`, { quantity: 3, ttlSeconds: 600 })).body;
    const watch = [`/inventory/${p}/availability`, `/inventory/${q}/availability`, `/inventory/${p}/reservations/${r.id}`];
    expect((await refused('DELETE', `/inventory/${p}/reservations/nope`, undefined, 404, 'RESERVATION_NOT_FOUND', watch)).reservationId).toBe('nope');
    expect(await refused('DELETE', `/inventory/${q}/reservations/${r.id}`, undefined, 409, 'RESERVATION_PRODUCT_MISMATCH', watch))
      .toMatchObject({ reservationId: r.id, productId: q, reservedProductId: p });
    expect(await refused('POST', `/inventory/${p}/reservations`, { quantity: 2, ttlSeconds: 60 }, 422, 'OUT_OF_STOCK', watch))
      .toMatchObject({ productId: p, requested: 2, available: 1 });
    await refused('POST', '/inventory/nope/reservations', { quantity: 1, ttlSeconds: 60 }, 404, 'PRODUCT_NOT_FOUND', watch);
    expect(await call('GET', `/inventory/${p}/reservations/nope`)).toMatchObject({ status: 404, body: { code: 'RESERVATION_NOT_FOUND' } });
    expect(await call('GET', `/inventory/${q}/reservations/${r.id}`)).toMatchObject({ status: 409, body: { code: 'RESERVATION_PRODUCT_MISMATCH' } });
    expect(await call('GET', '/inventory/nope/availability')).toMatchObject({ status: 404, body: { code: 'PRODUCT_NOT_FOUND' } });
  });

  it.each([
    ['ttlSeconds 0', { quantity: 1, ttlSeconds: 0 }],
    ['ttlSeconds past 7 days', { quantity: 1, ttlSeconds: 604_801 }],
    ['ttlSeconds "60"', { quantity: 1, ttlSeconds: '60' }],
    ['ttlSeconds 1.5', { quantity: 1, ttlSeconds: 1.5 }],
    ['no ttlSeconds', { quantity: 1 }],
    ['quantity 0', { quantity: 0, ttlSeconds: 60 }],
    ['an unknown field', { quantity: 1, ttlSeconds: 60, extra: 1 }],
  ])('POST …/reservations with %s → 400 VALIDATION_FAILED, nothing written', async (_, body) => {
    const p = await product(4);
    await refused('POST', `/inventory/${p}/reservations`, body, 400, 'VALIDATION_FAILED', [`/inventory/${p}/availability`]);
  });

  it('POST /orders consumes reservations per line → 201; reuse 409 RESERVATION_CONSUMED; 422 RESERVATION_QUANTITY_MISMATCH; 400 bad id', async () => {
    const [p, q] = [await product(5), await product(5)];
    const r = (await call('POST', `/inventory/${p}/reservations`, { quantity: 2, ttlSeconds: 600 })).body;
    const watch = [`/inventory/${p}/availability`, `/inventory/${q}/availability`, `/inventory/${p}/reservations/${r.id}`];
    expect(await refused('POST', '/orders', { userId: 'u1', items: [{ productId: p, quantity: 3, unitPrice: 5, reservationId: r.id }] },
      422, 'RESERVATION_QUANTITY_MISMATCH', watch)).toMatchObject({ index: 0, reservationId: r.id, requested: 3, reserved: 2 });
    await refused('POST', '/orders', { userId: 'u1', items: [{ productId: p, quantity: 2, unitPrice: 5, reservationId: 'a:b' }] },
      400, 'VALIDATION_FAILED', watch);
    const placed = await call('POST', '/orders', { userId: 'u1', items: [
      { productId: p, quantity: 2, unitPrice: 5, reservationId: r.id }, { productId: q, quantity: 1, unitPrice: 7 }] });
    expect(placed).toMatchObject({ status: 201, body: { userId: 'u1', total: 17, status: 'pending',
      items: [{ productId: p, quantity: 2, unitPrice: 5 }, { productId: q, quantity: 1, unitPrice: 7 }] } });
    expect(await call('GET', `/inventory/${p}/reservations/${r.id}`)).toEqual({ status: 200, body: { ...r, status: 'consumed', orderId: placed.body.id } });
    expect(await call('GET', `/inventory/${p}/availability`)).toEqual({ status: 200, body: { productId: p, available: 3, held: 0 } });
    await refused('POST', '/orders', { userId: 'u2', items: [{ productId: p, quantity: 2, unitPrice: 5, reservationId: r.id }] },
      409, 'RESERVATION_CONSUMED', watch);
    await refused('DELETE', `/inventory/${p}/reservations/${r.id}`, undefined, 409, 'RESERVATION_CONSUMED', watch);
    const types = (await call('GET', '/events?stream=shop&limit=1000')).body.events.map((e: { type: string }) => e.type);
    expect(types).toEqual(expect.arrayContaining(['reservation.created', 'reservation.consumed', 'order.placed']));
  });

  it('Idempotency-Key: POST …/reservations and DELETE replay their first answer with Idempotent-Replayed: true', async () => {
    const p = await product(5);
    const first = await call('POST', `/inventory/${p}/reservations`, { quantity: 2, ttlSeconds: 600 }, `hold-${p}`);
    expect(first.status).toBe(201);
    expect(await call('POST', `/inventory/${p}/reservations`, { quantity: 2, ttlSeconds: 600 }, `hold-${p}`))
      .toEqual({ ...first, replayed: 'true' });
    expect(await call('POST', `/inventory/${p}/reservations`, { quantity: 1, ttlSeconds: 600 }, `hold-${p}`))
      .toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_MISMATCH' } });
    expect(await call('GET', `/inventory/${p}/availability`)).toEqual({ status: 200, body: { productId: p, available: 3, held: 2 } });
    const released = await call('DELETE', `/inventory/${p}/reservations/${first.body.id}`, undefined, `rel-${p}`);
    expect(released).toMatchObject({ status: 200, body: { status: 'released' } });
    expect(await call('DELETE', `/inventory/${p}/reservations/${first.body.id}`, undefined, `rel-${p}`)).toEqual({ ...released, replayed: 'true' });
  });

  it("expiry: the service's sweeper gives the units back; the reservation is expired (409 RESERVATION_EXPIRED)", async () => {
    const p = await product(5);
    const r = (await call('POST', `/inventory/${p}/reservations`, { quantity: 2, ttlSeconds: 1 })).body;
    while ((await call('GET', `/inventory/${p}/availability`)).body.held > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await call('GET', `/inventory/${p}/availability`)).toEqual({ status: 200, body: { productId: p, available: 5, held: 0 } });
    expect(await call('GET', `/inventory/${p}/reservations/${r.id}`)).toEqual({ status: 200, body: { ...r, status: 'expired' } });
    await refused('DELETE', `/inventory/${p}/reservations/${r.id}`, undefined, 409, 'RESERVATION_EXPIRED', [`/inventory/${p}/availability`]);
    await refused('POST', '/orders', { userId: 'u1', items: [{ productId: p, quantity: 2, unitPrice: 1, reservationId: r.id }] },
      409, 'RESERVATION_EXPIRED', [`/inventory/${p}/availability`]);
    const events = (await call('GET', '/events?stream=shop&limit=1000')).body.events;
    expect(events.filter((e: { data: { reservationId?: string } }) => e.data.reservationId === r.id).map((e: { type: string }) => e.type))
      .toEqual(['reservation.created', 'reservation.expired']);
  });
});
