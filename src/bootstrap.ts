import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { AtomicErrorFilter } from '@kernel/nest/http';

/**
 * The HTTP app, configured the same way for `main.ts`, the e2e tests and the benchmarks (which may pass a
 * root module wrapping AppModule.forRoot(config) to add routes).
 */
export async function createApp(config: AppConfig, options: { logger?: false; root?: DynamicModule | Type } = {}):
  Promise<NestFastifyApplication> {
  const root = options.root ?? AppModule.forRoot(config);
  const app = await NestFactory.create<NestFastifyApplication>(root, new FastifyAdapter(), {
    logger: options.logger,
    abortOnError: false,
    // Held back until the app is built: a failed start is reported once, by main.ts, without Nest's stack dump.
    bufferLogs: true,
    autoFlushLogs: false,
  });
  app.flushLogs();
  // The modules' routes bring their own validation, error codes and replay header; this filter gives the
  // service's other answers (unknown route, malformed JSON, body too large) the same `{ code }` body.
  app.useGlobalFilters(new AtomicErrorFilter());
  // Swagger UI at /docs, the OpenAPI document at /docs-json (DOCS_ENABLED=false turns both off).
  if (config.docs) (await loadOpenApi()).setupOpenApi(app, config);
  app.enableShutdownHooks();
  return app;
}

/** src/openapi.ts needs @nestjs/swagger: loaded only when the docs are on, with a clear message when it is missing. */
async function loadOpenApi(): Promise<typeof import('./openapi')> {
  return import('./openapi').catch((err: unknown) => {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND' && /@nestjs\/swagger/.test(String(err))) {
      throw new Error('the API docs (/docs) need @nestjs/swagger: npm install @nestjs/swagger, or set DOCS_ENABLED=false');
    }
    throw err;
  });
}
