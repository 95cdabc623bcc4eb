import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { DynamicModule, Logger, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { AtomicErrorFilter, strictJsonBodies } from '@kernel/nest/http';
import { ServiceLogger } from './logging';

/**
 * The HTTP app, configured the same way for `main.ts`, the e2e tests and the benchmarks (which may pass a
 * root module wrapping AppModule.forRoot(config) to add routes). `logger: false` silences every log, the
 * request lines included. Signals are serve()'s (graceful drain, exit 0): no Nest shutdown hooks here.
 */
export async function createApp(config: AppConfig, options: { logger?: false; root?: DynamicModule | Type } = {}):
  Promise<NestFastifyApplication> {
  const quiet = options.logger === false;
  const root = options.root ?? AppModule.forRoot(quiet ? { ...config, log: { ...config.log, level: 'silent' } } : config);
  const app = await NestFactory.create<NestFastifyApplication>(root, new FastifyAdapter({ genReqId: requestId }), {
    logger: options.logger,
    abortOnError: false,
    bodyParser: false, // JSON only, through strictJsonBodies below
    // Held back until the app is built: a failed start is reported once, by main.ts, without Nest's stack dump.
    bufferLogs: true,
    autoFlushLogs: false,
  });
  if (!quiet) app.useLogger(app.get(ServiceLogger)); // structured logs (pino), flushing what was buffered
  app.flushLogs();
  // Invalid UTF-8 in a JSON body is refused (400 VALIDATION_FAILED), never decoded to U+FFFD and stored altered.
  strictJsonBodies(app.getHttpAdapter().getInstance());
  // The modules' routes bring their own validation, error codes and replay header; this filter gives the
  // service's other answers (unknown route, malformed JSON, body too large) the same `{ code }` body.
  app.useGlobalFilters(new AtomicErrorFilter());
  // Swagger UI at /docs, the OpenAPI document at /docs-json: DOCS_ENABLED=true requires @nestjs/swagger, unset
  // serves them when it is installed (the package's `serve` runs without it), false turns both off.
  if (config.docs !== false) {
    const openApi = await loadOpenApi(config.docs === true);
    if (openApi) openApi.setupOpenApi(app, config);
    else new Logger('Docs').log('no API docs at /docs: @nestjs/swagger is not installed (DOCS_ENABLED=true makes it required)');
  }
  app.getHttpAdapter().getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id); // the id of the request's log line
    done();
  });
  return app;
}

/** A caller's `X-Request-Id` is kept when it is a plausible id (else, or when absent, a fresh UUID). */
function requestId(req: { headers: IncomingMessage['headers'] }): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
}

/** src/openapi.ts needs @nestjs/swagger: undefined when it is missing and not required; a clear error when required. */
async function loadOpenApi(required: boolean): Promise<typeof import('./openapi') | undefined> {
  return import('./openapi').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && /@nestjs\/swagger/.test(String(err))) {
      if (!required) return undefined;
      throw new Error('the API docs (/docs) need @nestjs/swagger: npm install @nestjs/swagger, or set DOCS_ENABLED=false');
    }
    throw err;
  });
}
