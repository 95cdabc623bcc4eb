import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { AtomicErrorFilter, strictJsonBodies } from '@kernel/nest/http';

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
    bodyParser: false, // JSON only, through strictJsonBodies below
    // Held back until the app is built: a failed start is reported once, by main.ts, without Nest's stack dump.
    bufferLogs: true,
    autoFlushLogs: false,
  });
  app.flushLogs();
  // Invalid UTF-8 in a JSON body is refused (400 VALIDATION_FAILED), never decoded to U+FFFD and stored altered.
  strictJsonBodies(app.getHttpAdapter().getInstance());
  // The modules' routes bring their own validation, error codes and replay header; this filter gives the
  // service's other answers (unknown route, malformed JSON, body too large) the same `{ code }` body.
  app.useGlobalFilters(new AtomicErrorFilter());
  app.enableShutdownHooks();
  return app;
}
