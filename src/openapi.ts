import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { errorSchema, HttpResponse, IDEMPOTENCY_KEY_HEADER } from '@kernel/nest/http';
import { ID_PATTERN } from '@kernel/core';
import { LEDGER_PARAM } from './accounts/accounts.controller';
import type { AppConfig } from './config';
import { NAMESPACE_PARAM } from './kv/kv.controller';
import { SHOP_PARAM } from './shop/inventory/inventory.controller';
import { EVENT_LOG, EventLog } from './events/events.port';
import { SHUTTING_DOWN } from './health/shutting-down';
import { RATE_LIMIT_EXEMPT } from './rate-limit';

/** What the document needs of the service's configuration. */
export type OpenApiConfig = Pick<AppConfig, 'maxBatch'> & Partial<Pick<AppConfig, 'rateLimit'>>;

/**
 * The service's API documentation: the OpenAPI 3 document built from the routes' decorators and DTOs
 * (`GET /docs-json`) and Swagger UI (`GET /docs`).
 *
 * Swagger UI's assets are served here, from `swagger-ui-dist`, through the platform-neutral HTTP adapter — the
 * same on Fastify and Express, with no `@fastify/static` (which `SwaggerModule.setup` would need on Fastify)
 * and nothing registered that could change how the API routes parse bodies or content types.
 */
export const DOCS_PATH = '/docs';
export const DOCS_JSON_PATH = '/docs-json';

/** The version of the nearest package.json above this file (the repository's, or the installed package's). */
function packageVersion(dir = __dirname): string {
  if (existsSync(join(dir, 'package.json'))) return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  return dirname(dir) === dir ? '0.0.0' : packageVersion(dirname(dir));
}

export function buildOpenApiDocument(app: INestApplication, config: OpenApiConfig): OpenAPIObject {
  const info = new DocumentBuilder()
    .setTitle('redis-atomic')
    .setVersion(packageVersion())
    .setDescription('Atomic multi-key operations on Redis: accounts and transfers, a shop (inventory and orders), a conditional ' +
      'key-value store and per-shard event logs. Amounts are integers in minor units within ±(2^53 − 1); ids match ' +
      '`^[A-Za-z0-9_-]{1,64}$`. Errors are `{statusCode, code, message, …details}`: branch on `code`. Writes take an ' +
      '`Idempotency-Key`; replays say `Idempotent-Replayed: true`. Any route answers 503 `SHUTTING_DOWN` while the ' +
      'instance drains (retry on another), and 429 `RATE_LIMITED` with `Retry-After` when a rate limit is configured.')
    .build();
  const document = SwaggerModule.createDocument(app, info, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '').toLowerCase()}_${method}`,
  });
  return finish(document, app, config);
}

/** What the decorators cannot know: limits that are configuration, and that our objects are closed. */
function finish(document: OpenAPIObject, app: INestApplication, config: OpenApiConfig): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Record<string, any>>;
  // Requests refuse unknown fields (400) and answers carry none: every object we describe is closed, except
  // where a schema says otherwise (an event's data, a hash's fields, an error's details).
  for (const schema of Object.values(schemas)) {
    if (schema.type === 'object' && schema.additionalProperties === undefined) schema.additionalProperties = false;
  }
  const transfers = schemas.TransferBatchDto?.properties?.transfers;
  if (transfers) transfers.maxItems = config.maxBatch;
  // One name for the header everywhere (handlers read it lower-cased, as Node gives it to them).
  for (const operation of Object.values(document.paths).flatMap((item) => Object.values(item) as { parameters?: { in: string; name: string }[] }[])) {
    for (const p of operation.parameters ?? []) if (p.in === 'header' && p.name === IDEMPOTENCY_KEY_HEADER.toLowerCase()) p.name = IDEMPOTENCY_KEY_HEADER;
  }
  const log = app.get<EventLog>(EVENT_LOG, { strict: false });
  const stream = (document.paths['/events']?.get?.parameters as { name?: string; schema?: Record<string, unknown> }[] | undefined)
    ?.find((p) => p.name === 'stream');
  if (stream?.schema) stream.schema.enum = log.streams();
  shardRoutes(document);
  serviceAnswers(document, config);
  return document;
}

/** The `:ledger` / `:shop` / `:namespace` of the shard routes, as each module describes it. */
const SHARD_PARAMS: Record<string, string> = { ledger: LEDGER_PARAM, shop: SHOP_PARAM, namespace: NAMESPACE_PARAM };

/**
 * The shard routes (`/ledgers/{ledger}/…`, `/shops/{shop}/…`, `/namespaces/{namespace}/…`): their path parameter
 * (swagger does not carry a subclass's class-level parameter to the handlers it inherits), and 404
 * `SHARD_NOT_FOUND` for a shard outside the module's list (LEDGERS, SHOPS, KV_NAMESPACES) — the event logs excepted,
 * which read any shard.
 */
function shardRoutes(document: OpenAPIObject): void {
  for (const [path, item] of Object.entries(document.paths)) {
    const field = /^\/(?:ledgers|shops|namespaces)\/\{(\w+)\}\//.exec(path)?.[1];
    if (!field) continue;
    for (const operation of Object.values(item) as (Operation & { parameters?: { in: string; name: string }[] })[]) {
      const parameters = operation.parameters ??= [];
      if (!parameters.some((p) => p.in === 'path' && p.name === field)) {
        parameters.unshift({ name: field, in: 'path', required: true, description: SHARD_PARAMS[field], schema: { type: 'string', pattern: ID_PATTERN.source } } as never);
      }
      if (!path.endsWith('/events')) addError(operation, 404, 'SHARD_NOT_FOUND');
    }
  }
}

type Operation = { responses: Record<string, { description: string; content?: Record<string, { schema: Record<string, unknown> }>; headers?: Record<string, unknown> }> };

/** Adds an error answer (status, code) to an operation, beside the codes it already documents for that status. */
function addError(operation: Operation, status: number, code: string, headers?: Record<string, unknown>): void {
  const schema = errorSchema(status, [code]);
  const existing = operation.responses[status];
  const json = existing?.content?.['application/json'];
  if (!existing || !json) {
    operation.responses[status] = { description: `\`${code}\``, content: { 'application/json': { schema } }, ...(headers && { headers }) };
    return;
  }
  json.schema = { oneOf: [...((json.schema.oneOf as unknown[] | undefined) ?? [json.schema]), schema] };
  existing.description = `${existing.description} · \`${code}\``;
  if (headers) existing.headers = { ...existing.headers, ...headers };
}

/**
 * The service's own answers, which any route can give whatever its module: 503 `SHUTTING_DOWN` once a shutdown
 * began (Drain), and — only when RATE_LIMIT_MAX enables it — 429 `RATE_LIMITED` with `Retry-After` on every
 * route but the probes and /metrics.
 */
function serviceAnswers(document: OpenAPIObject, config: OpenApiConfig): void {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const operation of Object.values(item) as Operation[]) {
      if (config.rateLimit && !RATE_LIMIT_EXEMPT.test(path)) {
        addError(operation, 429, 'RATE_LIMITED', {
          'Retry-After': { description: 'Seconds until the client\'s budget renews', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
        });
      }
      addError(operation, SHUTTING_DOWN.statusCode, SHUTTING_DOWN.code);
    }
  }
}

/** Swagger UI's files, from the swagger-ui-dist that @nestjs/swagger depends on. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'application/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'application/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
  'favicon-16x16.png': 'image/png',
};

function assetsDir(): string {
  const swagger = dirname(require.resolve('@nestjs/swagger/package.json'));
  return dirname(require.resolve('swagger-ui-dist/package.json', { paths: [swagger] }));
}

const page = (base: string) => `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>redis-atomic API</title>
  <link rel="stylesheet" href="${base}swagger-ui.css">
  <link rel="icon" type="image/png" href="${base}favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${base}swagger-ui-bundle.js"></script>
  <script src="${base}swagger-ui-standalone-preset.js"></script>
  <script src="${base}swagger-ui-init.js"></script>
</body>
</html>
`;

const init = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: new URL('${DOCS_JSON_PATH}', window.location.href).href,
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/**
 * Serves the document at /docs-json and Swagger UI at /docs, on Fastify or Express. Called before `app.init()`.
 * Returns the document (tests validate it).
 */
export function setupOpenApi(app: INestApplication, config: OpenApiConfig): OpenAPIObject {
  const document = buildOpenApiDocument(app, config);
  SwaggerModule.setup(DOCS_PATH, app, document, { ui: false, raw: ['json'], jsonDocumentUrl: DOCS_JSON_PATH });
  const adapter = app.getHttpAdapter();
  const dir = assetsDir();
  const cache = new Map<string, Buffer>();
  const send = (res: HttpResponse, type: string, body: string | Buffer) => {
    res.header('content-type', type);
    res.header('x-content-type-options', 'nosniff');
    res.status(200).send(body);
  };
  adapter.get(DOCS_PATH, (_req: unknown, res: HttpResponse) => send(res, 'text/html; charset=utf-8', page(`${DOCS_PATH.slice(1)}/`)));
  adapter.get(`${DOCS_PATH}/`, (_req: unknown, res: HttpResponse) => send(res, 'text/html; charset=utf-8', page('./')));
  adapter.get(`${DOCS_PATH}/swagger-ui-init.js`, (_req: unknown, res: HttpResponse) => send(res, 'application/javascript; charset=utf-8', init));
  for (const [file, type] of Object.entries(ASSETS)) {
    adapter.get(`${DOCS_PATH}/${file}`, (_req: unknown, res: HttpResponse) => {
      let body = cache.get(file);
      if (!body) cache.set(file, (body = readFileSync(join(dir, file))));
      send(res, type, body);
    });
  }
  return document;
}
