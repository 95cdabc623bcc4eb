import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { Logger, LoggerModule } from 'nestjs-pino';
import pino from 'pino';
import type { Options } from 'pino-http';
import type { AppConfig } from './config';

/**
 * What the service's HTTP layer leaves on the raw request/response for the request log line: the matched route
 * pattern (set by a Fastify hook, see drain.ts) and the answer's error `code` (set by AtomicErrorFilter and the
 * draining hook). `err` is pino-http's own convention: the cause of a 5xx, logged with it.
 */
interface LoggedRequest extends IncomingMessage { routePattern?: string }
interface LoggedResponse extends ServerResponse { errorCode?: string }

/**
 * Structured logs (pino through nestjs-pino): JSON lines on stdout by default, human-readable with
 * LOG_FORMAT=pretty; one line per request with its id, route, status, latency and error code; a 5xx with its
 * cause. Secrets never reach a line: the request serializer keeps method and URL only (no headers, no body).
 */
export function loggingModule(log: AppConfig['log']): DynamicModule {
  const options: Options<LoggedRequest, LoggedResponse> = {
    level: log.level,
    // Fastify's request id (bootstrap.ts: the caller's X-Request-Id or a UUID) is on the raw request already.
    genReqId: (req) => (req as { id?: string }).id ?? randomUUID(),
    customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
    // The request logger (used by logs written while handling it) carries only the request id.
    quietReqLogger: true,
    quietResLogger: true,
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info'),
    customSuccessObject: (req, res, value) => requestLine(req, res, value),
    customErrorObject: (req, res, err, value) => ({ ...requestLine(req, res, value), err }),
    customSuccessMessage: (req, res) => `${req.method} ${req.routePattern ?? req.url} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${req.routePattern ?? req.url} ${res.statusCode}`,
    redact: { paths: ['password', '*.password', 'headers.authorization', '*.headers.authorization', '*.headers.cookie'], censor: '[redacted]' },
  };
  // Written synchronously, in this thread: lines keep their order and none is lost at exit (the service exits
  // right after "stopped"); pretty is formatted here too, not in a worker thread.
  const stream = log.format === 'pretty'
    ? prettyStream()
    : pino.destination({ dest: 1, sync: true });
  const pinoHttp = [options, stream] as const;
  return {
    module: LoggingModule,
    imports: [LoggerModule.forRoot({ pinoHttp: pinoHttp as never })],
    providers: [ServiceLogger],
    exports: [ServiceLogger],
  };
}

@Module({})
export class LoggingModule {}

function requestLine(req: LoggedRequest, res: LoggedResponse, value: Record<string, unknown>) {
  return {
    method: req.method,
    route: req.routePattern,
    url: req.url,
    status: res.statusCode,
    durationMs: value.durationMs,
    ...(res.errorCode ? { code: res.errorCode } : {}),
  };
}

/** Nest's start-up chatter (a line per module and per route): `debug`, not `info`. */
const START_UP_CONTEXTS = new Set(['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Nest's logger on pino, minus one line: "Nest application successfully started" is written by `init()`,
 * before the port is bound — the service says "listening" itself once it really is.
 */
@Injectable()
export class ServiceLogger extends Logger {
  override log(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (context === 'NestApplication' && /successfully started/.test(String(message))) return;
    if (typeof context === 'string' && START_UP_CONTEXTS.has(context)) return super.debug(message, ...optionalParams);
    super.log(message, ...optionalParams);
  }
}

/** pino-pretty only when asked for: a development tool, not something the package's `serve` needs installed. */
function prettyStream(): NodeJS.WritableStream {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    return pretty({ sync: true, colorize: false, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
  } catch {
    throw new Error('LOG_FORMAT=pretty needs pino-pretty: npm install pino-pretty (or LOG_FORMAT=json)');
  }
}
