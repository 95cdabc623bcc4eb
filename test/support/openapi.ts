/**
 * Checks real answers against the service's own OpenAPI document: a response validator (ajv + ajv-formats
 * compiling the document's schemas, `$ref`s resolved through its components) and a client that drives an app by
 * operation (`'POST /transfers'`), checks every answer and records what it exercised.
 */
import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components?: { schemas?: Record<string, Json> };
}

export interface Answer {
  status: number;
  body: Json;
  /** The raw payload (for 204s and non-JSON answers). */
  raw: string;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** A JSON body (serialized here), or a raw payload with its own content type. */
  body?: unknown;
  raw?: { payload: string; contentType: string };
  headers?: Record<string, string>;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const lowerKeys = (o: Record<string, string> | undefined) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

/** `'POST /transfers'` for every operation of the document. */
export const operationsOf = (doc: OpenApiDocument): string[] =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`));

export class ResponseValidator {
  private readonly ajv: Ajv;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(readonly doc: OpenApiDocument) {
    // strict: false — OpenAPI adds keywords JSON Schema does not know (`example`, `nullable` is known to ajv).
    this.ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema({ $id: 'openapi.json', components: doc.components ?? {} });
  }

  operation(key: string): Json {
    const [method, path] = key.split(' ');
    const operation = this.doc.paths[path]?.[method.toLowerCase()];
    if (!operation) throw new Error(`the document has no operation ${key}`);
    return operation;
  }

  /** A validator for a schema of the document; its `#/components/...` refs resolve through the document. */
  schema(schema: Json, cacheKey = JSON.stringify(schema)): ValidateFunction {
    let validate = this.compiled.get(cacheKey);
    if (!validate) {
      const rooted = JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"openapi.json#/components/'));
      validate = this.ajv.compile(rooted);
      this.compiled.set(cacheKey, validate);
    }
    return validate;
  }

  /**
   * Every way a request departs from the document's parameters and body schema (empty when it conforms). Query
   * and path values arrive as text: a documented integer is checked as the number its digits spell.
   */
  requestProblems(key: string, request: { params?: Record<string, string>; query?: Record<string, string>; headers?: Record<string, string>; body?: unknown }): string[] {
    const operation = this.operation(key);
    const problems: string[] = [];
    for (const p of (operation.parameters ?? []) as Json[]) {
      const source = p.in === 'path' ? request.params : p.in === 'query' ? request.query : p.in === 'header' ? lowerKeys(request.headers) : undefined;
      const raw = source?.[p.in === 'header' ? p.name.toLowerCase() : p.name];
      if (raw === undefined) {
        if (p.required) problems.push(`${key}: ${p.in} parameter ${p.name} is required`);
        continue;
      }
      const value = p.schema?.type === 'integer' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
      const validate = this.schema(p.schema);
      if (!validate(value)) problems.push(`${key}: ${p.in} ${p.name}=${JSON.stringify(raw)} — ${this.ajv.errorsText(validate.errors)}`);
    }
    const body = operation.requestBody?.content?.['application/json']?.schema;
    if (body) {
      const validate = this.schema(body, `${key} request`);
      if (!validate(request.body)) problems.push(`${key}: body ${JSON.stringify(request.body)?.slice(0, 300)} — ${this.ajv.errorsText(validate.errors)}`);
    }
    return problems;
  }

  /** Every way the answer departs from the document (empty when it conforms). */
  problems(key: string, answer: Answer): string[] {
    const operation = this.operation(key);
    const documented = operation.responses?.[String(answer.status)];
    if (!documented) return [`${key}: status ${answer.status} is not documented (${answer.raw.slice(0, 200)})`];
    const problems: string[] = [];
    const content = documented.content?.['application/json'];
    if (content) {
      const type = String(answer.headers['content-type'] ?? '');
      if (!type.startsWith('application/json')) problems.push(`${key} ${answer.status}: content-type ${type}, documented application/json`);
      const validate = this.schema(content.schema, `${key} ${answer.status}`);
      if (!validate(answer.body)) {
        problems.push(`${key} ${answer.status}: body ${JSON.stringify(answer.body).slice(0, 300)} — ${this.ajv.errorsText(validate.errors)}`);
      }
    } else if (documented.content) {
      // another media type (e.g. /metrics' `text/plain; version=0.0.4`): the type and its parameters, and the text
      const type = String(answer.headers['content-type'] ?? '').toLowerCase();
      const params = (t: string) => t.split(';').map((p) => p.trim().replace(/\s*=\s*/, '='));
      const media = Object.keys(documented.content).find((m) => params(m).every((p) => params(type).includes(p.toLowerCase())));
      if (!media) problems.push(`${key} ${answer.status}: content-type ${type}, documented ${Object.keys(documented.content).join(', ')}`);
      else {
        const validate = this.schema(documented.content[media].schema, `${key} ${answer.status} ${media}`);
        if (!validate(answer.raw)) problems.push(`${key} ${answer.status}: ${media} body — ${this.ajv.errorsText(validate.errors)}`);
      }
    } else if (answer.raw !== '') {
      problems.push(`${key} ${answer.status}: documented without a body, got ${answer.raw.slice(0, 100)}`);
    }
    const headers = (documented.headers ?? {}) as Record<string, Json>;
    for (const [name, header] of Object.entries(headers)) {
      const value = answer.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) problems.push(`${key} ${answer.status}: required header ${name} missing`);
        continue;
      }
      const validate = this.schema(header.schema);
      if (!validate(value)) problems.push(`${key} ${answer.status}: header ${name}: ${JSON.stringify(value)} — ${this.ajv.errorsText(validate.errors)}`);
    }
    // Our own headers must be documented where they appear.
    if (answer.headers['idempotent-replayed'] !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'idempotent-replayed')) {
      problems.push(`${key} ${answer.status}: undocumented header Idempotent-Replayed`);
    }
    return problems;
  }
}

/** Drives an app by the document's operations; every answer is checked, every (operation, status, code) recorded. */
export class DocumentedClient {
  readonly seen = new Map<string, Set<string>>();
  readonly problems: string[] = [];

  constructor(private readonly app: NestFastifyApplication, readonly validator: ResponseValidator) {}

  async call(key: string, options: CallOptions = {}): Promise<Answer> {
    const [method, template] = key.split(' ');
    this.validator.operation(key); // only documented operations
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = options.params?.[name];
      if (value === undefined) throw new Error(`${key}: no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
    const headers: Record<string, string> = { ...options.headers };
    let payload: string | undefined;
    if (options.raw) {
      payload = options.raw.payload;
      headers['content-type'] = options.raw.contentType;
    } else if (options.body !== undefined) {
      payload = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const res = await this.app.inject({ method: method as 'GET', url: path + query, payload, headers });
    let body: Json;
    try {
      body = res.body === '' ? undefined : JSON.parse(res.body);
    } catch {
      body = undefined;
    }
    const answer: Answer = { status: res.statusCode, body, raw: res.body, headers: res.headers };
    this.problems.push(...this.validator.problems(key, answer));
    // A request the API accepted must be one the document allows (else the document is stricter than the API).
    if (answer.status < 300 && !options.raw) {
      for (const problem of this.validator.requestProblems(key, options)) this.problems.push(`accepted, yet not allowed by the document: ${problem}`);
    }
    const seen = this.seen.get(key) ?? new Set<string>();
    seen.add(answer.status >= 400 && body?.code !== undefined ? `${answer.status} ${body.code}` : String(answer.status));
    this.seen.set(key, seen);
    return answer;
  }
}

/**
 * What the document promises for one operation: its success statuses and `<status> <code>` of every error
 * (the codes listed in each error schema's `code` enum).
 */
export function documentedOutcomes(validator: ResponseValidator, key: string): string[] {
  const responses = validator.operation(key).responses as Record<string, Json>;
  return Object.entries(responses).flatMap(([status, response]) => {
    const schema = response.content?.['application/json']?.schema;
    if (Number(status) < 400) return [status];
    // an error status: one schema per code (oneOf), or the one code's schema; a member without a code (e.g.
    // /health's own 503 body) is the bare status
    const outcomes = ((schema?.oneOf ?? [schema]) as Json[]).flatMap((s) => {
      const codes: string[] | undefined = s?.properties?.code?.enum;
      return codes ? codes.map((code) => `${status} ${code}`) : [status];
    });
    return [...new Set(outcomes)];
  });
}
