import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config';
import { ErrorFilter } from './http/error.filter';
import { ReplayHeaderInterceptor } from './http/replay.interceptor';
import { validationPipe } from './http/validation';

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
  app.useGlobalPipes(validationPipe);
  app.useGlobalFilters(new ErrorFilter());
  app.useGlobalInterceptors(new ReplayHeaderInterceptor());
  app.enableShutdownHooks();
  return app;
}
