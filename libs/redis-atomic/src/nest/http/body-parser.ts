import { isUtf8 } from 'node:buffer';
import { validationFailed } from '../../core/errors';

type Done = (err: Error | null, body?: unknown) => void;

/** The parts of a Fastify instance `strictJsonBodies` uses (typed here so the kernel needs no Fastify import). */
export interface FastifyJsonParsers {
  readonly initialConfig: { bodyLimit?: number; onProtoPoisoning?: string; onConstructorPoisoning?: string };
  getDefaultJsonParser(onProtoPoisoning: any, onConstructorPoisoning: any): (req: any, body: any, done: Done) => void;
  hasContentTypeParser(type: string): boolean;
  removeContentTypeParser(type: string): unknown;
  addContentTypeParser(type: string, options: { parseAs: 'buffer'; bodyLimit?: number }, parser: (req: any, body: Buffer, done: Done) => void): unknown;
}

/**
 * JSON bodies must be valid UTF-8. Fastify (like every JSON body parser) decodes invalid bytes to U+FFFD, so a kv
 * value sent with a stray byte would be stored silently altered; this parser refuses such a body with 400
 * VALIDATION_FAILED before parsing it. Otherwise it is Fastify's own JSON parser (same body limit, same
 * prototype-poisoning rules). The service installs it in createApp; a host Fastify app can too, in place of Nest's
 * parsers (`bodyParser: false`, else Nest adds its own JSON parser at init and Fastify refuses a second one):
 *
 *   const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), { bodyParser: false });
 *   strictJsonBodies(app.getHttpAdapter().getInstance());
 *
 * (Installed after `app.init()` instead, it replaces Nest's JSON parser; form bodies then keep Nest's parser.)
 *
 * `rawBody: true` keeps Nest's `req.rawBody` (NestFactory.create(…, { rawBody: true })).
 */
export function strictJsonBodies(fastify: FastifyJsonParsers, options: { rawBody?: boolean } = {}): void {
  const { bodyLimit, onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parseJson = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  if (fastify.hasContentTypeParser('application/json')) fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (req, body, done) => {
    if (options.rawBody) req.rawBody = body;
    if (!isUtf8(body)) {
      const error = validationFailed('request body is not valid UTF-8', { errors: ['request body is not valid UTF-8'] });
      done(Object.assign(error, { statusCode: 400 }));
      return;
    }
    parseJson(req, body, done);
  });
}
