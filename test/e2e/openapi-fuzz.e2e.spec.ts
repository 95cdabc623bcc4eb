/**
 * A request fuzzer generated from the OpenAPI document: for every operation, fast-check builds requests from the
 * documented parameters, headers and body schemas — valid ones (ids drawn partly from seeded accounts and
 * products, so business rules are reached too) and mutated ones (wrong types, out-of-range numbers, unknown or
 * missing fields, arbitrary JSON, bad ids and Idempotency-Keys). Against the real app (functions strategy,
 * private redis-server): never a 5xx, every non-2xx carries a `code`, and every answer matches the document.
 * Bounded: RUNS requests per operation (a few hundred in total).
 */
import fc from 'fast-check';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { RedisServer } from '@kernel/testing';
import { createApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config';
import { Json, OpenApiDocument, operationsOf, ResponseValidator } from '../support/openapi';

const RUNS = Number(process.env.FUZZ_RUNS ?? 15); // FUZZ_RUNS=200 for a longer hunt
const MAX = Number.MAX_SAFE_INTEGER;
const KNOWN_IDS = ['fz-a', 'fz-b', 'fz-p', 'fz-u'];
const ID_SOURCE = '^[A-Za-z0-9_-]{1,64}$';

interface FuzzRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Json;
}

/** Values of the wrong type or out of every documented range. */
const wrongValue: fc.Arbitrary<Json> = fc.constantFrom(null, '10', 1.5, -1, 0, 2 ** 53, 1e21, -(2 ** 53), {}, [], true, '', 'x'.repeat(70), 'ü', 'a b', '__proto__');
const badPathValue = fc.constantFrom('not.an.id', 'x'.repeat(65), 'ü', 'a b', '{tag}', '%', '-1.5');
const badQueryValue = fc.constantFrom('', '-1', '0', '1e3', 'abc', '99999', '1.5', '9'.repeat(20), 'a b');
const badIdempotencyKey = fc.constantFrom('', 'k'.repeat(256));

class Generator {
  constructor(private readonly doc: OpenApiDocument) {}

  private resolve(schema: Json): Json {
    if (schema?.$ref) return this.resolve(this.doc.components!.schemas![schema.$ref.split('/').pop()]);
    if (schema?.allOf?.length === 1) return { ...this.resolve(schema.allOf[0]), ...schema, allOf: undefined };
    return schema;
  }

  /** Values that conform to the schema (bounded sizes). */
  valid(raw: Json, depth = 0): fc.Arbitrary<Json> {
    const schema = this.resolve(raw);
    if (schema.oneOf) return fc.oneof(...schema.oneOf.map((s: Json) => this.valid(s, depth + 1)));
    if (schema.enum) return fc.constantFrom(...schema.enum);
    let arb: fc.Arbitrary<Json>;
    switch (schema.type) {
      case 'integer': {
        const min = schema.minimum ?? -MAX;
        const max = schema.maximum ?? MAX;
        arb = fc.oneof(
          fc.integer({ min: Math.max(min, -1000), max: Math.min(max, 1000) }),
          fc.constantFrom(min, max),
          // the whole range: fc.integer where it fits 32 bits, else safe integers (at least half of them in range)
          max - min <= 2 ** 31 - 1 ? fc.integer({ min, max }) : fc.maxSafeInteger().filter((v) => v >= min && v <= max),
        );
        break;
      }
      case 'string':
        if (schema.pattern === ID_SOURCE) arb = fc.oneof(fc.constantFrom(...KNOWN_IDS), fc.stringMatching(new RegExp(schema.pattern)));
        else if (schema.pattern) arb = fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length <= (schema.maxLength ?? Infinity));
        else arb = fc.string({ maxLength: Math.min(schema.maxLength ?? 20, 20) });
        break;
      case 'boolean':
        arb = fc.boolean();
        break;
      case 'array':
        arb = fc.array(this.valid(schema.items, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
        break;
      default: {
        if (schema.type !== 'object' || !schema.properties) return fc.jsonValue({ maxDepth: 2 });
        const required: string[] = schema.required ?? [];
        const props = Object.fromEntries(Object.entries(schema.properties).map(([k, s]) => [k, this.valid(s, depth + 1)]));
        arb = fc.record(props, { requiredKeys: required });
      }
    }
    return schema.nullable ? fc.option(arb, { nil: null }) : arb;
  }

  /** A conforming value, or one broken in one place (or replaced by arbitrary JSON). */
  body(schema: Json): fc.Arbitrary<Json> {
    return fc.oneof(
      { weight: 3, arbitrary: this.valid(schema) },
      { weight: 3, arbitrary: fc.tuple(this.valid(schema), fc.nat(), wrongValue).map(([v, i, bad]) => breakOne(v, i, bad)) },
      { weight: 1, arbitrary: fc.tuple(this.valid(schema), fc.string({ minLength: 1, maxLength: 8 })).map(([v, k]) => (isObject(v) ? { ...v, [`x${k}`]: 1 } : v)) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    );
  }

  request(operation: Json, body: Json | undefined): fc.Arbitrary<FuzzRequest> {
    const parameters: Json[] = operation.parameters ?? [];
    const text = (schema: Json) => this.valid(schema).map(String);
    const param = (p: Json, bad: fc.Arbitrary<string>) => fc.oneof({ weight: 4, arbitrary: text(p.schema) }, { weight: 1, arbitrary: bad });
    const group = (where: string, bad: fc.Arbitrary<string>) => {
      const ps = parameters.filter((p) => p.in === where);
      return fc.record(Object.fromEntries(ps.map((p) => [p.name, param(p, bad)])),
        { requiredKeys: ps.filter((p) => p.required || where === 'path').map((p) => p.name) }) as fc.Arbitrary<Record<string, string>>;
    };
    const schema = operation.requestBody?.content?.['application/json']?.schema;
    return fc.record({
      params: group('path', badPathValue),
      query: group('query', badQueryValue),
      headers: group('header', badIdempotencyKey),
      body: schema ? this.body(schema) : fc.constant(body),
    });
  }
}

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Replaces the i-th leaf (in a depth-first walk) of `value` with `bad`, or deletes an object's field. */
function breakOne(value: Json, i: number, bad: Json): Json {
  const paths: (string | number)[][] = [];
  const walk = (v: Json, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, j) => walk(x, [...path, j]));
    else if (isObject(v)) for (const k of Object.keys(v)) walk(v[k], [...path, k]);
  };
  walk(value, []);
  const path = paths[i % paths.length];
  if (path.length === 0) return bad;
  const copy = structuredClone(value);
  let parent = copy;
  for (const step of path.slice(0, -1)) parent = parent[step];
  const last = path[path.length - 1];
  if (isObject(parent) && i % 3 === 0) delete parent[last as string];
  else parent[last] = bad;
  return copy;
}

describe('request fuzzer generated from the OpenAPI document (functions strategy)', () => {
  let server: RedisServer;
  let app: NestFastifyApplication;
  let doc: OpenApiDocument;
  let validator: ResponseValidator;
  let requests = 0;
  const byClass = { '2xx': 0, '4xx': 0 };

  beforeAll(async () => {
    server = await RedisServer.start();
    app = await createApp(loadConfig({ ATOMIC_STRATEGY: 'functions', REDIS_URL: server.url }), { logger: false });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    doc = (await app.inject({ method: 'GET', url: '/docs-json' })).json();
    validator = new ResponseValidator(doc);
    // something for valid requests to find
    for (const [url, payload] of [['/accounts', { id: 'fz-a', balance: 1_000_000 }], ['/accounts', { id: 'fz-b', minBalance: -1000 }]] as const) {
      expect((await app.inject({ method: 'POST', url, payload })).statusCode).toBe(201);
    }
    expect((await app.inject({ method: 'PUT', url: '/inventory/fz-p', payload: { stock: 1000 } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/orders', payload: { userId: 'fz-u', items: [{ productId: 'fz-p', quantity: 1, unitPrice: 5 }] } })).statusCode).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await server?.stop();
  });

  it('covers every documented operation', () => {
    expect(operationsOf(doc).length).toBeGreaterThan(20);
  });

  it.each(['GET', 'POST', 'PUT', 'DELETE'])('%s operations: no 5xx, every non-2xx has a code, every answer is documented', async (method) => {
    const generator = new Generator(doc);
    for (const key of operationsOf(doc).filter((k) => k.startsWith(`${method} `))) {
      const t0 = Date.now();
      const [, template] = key.split(' ');
      const operation = validator.operation(key);
      await fc.assert(fc.asyncProperty(generator.request(operation, undefined), async (req) => {
        const url = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(req.params[name]));
        const query = Object.keys(req.query).length ? `?${new URLSearchParams(req.query).toString()}` : '';
        const res = await app.inject({
          method: method as 'GET', url: url + query, headers: req.headers,
          ...(req.body !== undefined && method !== 'GET' ? { payload: JSON.stringify(req.body), headers: { ...req.headers, 'content-type': 'application/json' } } : {}),
        });
        requests++;
        if (res.statusCode < 300) byClass['2xx']++;
        else if (res.statusCode < 500) byClass['4xx']++;
        // JSON answers parsed; another documented media type (/metrics' text exposition) is checked as text
        const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
        const body = res.body === '' || !json ? undefined : JSON.parse(res.body);
        const seen = { key, request: req, status: res.statusCode, body };
        expect(res.statusCode < 500 ? seen : { ...seen, problem: 'a 5xx' }).toEqual(seen);
        if (res.statusCode >= 400) expect(body).toMatchObject({ statusCode: res.statusCode, code: expect.stringMatching(/^[A-Z][A-Z_]+$/) });
        expect(validator.problems(key, { status: res.statusCode, body, raw: res.body, headers: res.headers })).toEqual([]);
        // accepted ⇒ allowed: the document is never stricter than the API
        if (res.statusCode < 300) expect(validator.requestProblems(key, req)).toEqual([]);
      }), { numRuns: RUNS });
      if (process.env.FUZZ_TIMES) console.log(key, Date.now() - t0);
    }
  }, Math.max(120_000, RUNS * 4_000));

  it('sent a few hundred requests, valid ones reaching the store and invalid ones refused', () => {
    expect(requests).toBeGreaterThanOrEqual(RUNS * operationsOf(doc).length);
    expect(byClass['2xx']).toBeGreaterThan(RUNS * 2);
    expect(byClass['4xx']).toBeGreaterThan(RUNS * 2);
  });
});
