import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { AtomicError } from '../../core/errors';
import { ErrorStatuses, HTTP_STATUS_CODE, KERNEL_ERROR_STATUS } from './error-status';
import type { HttpResponse } from './http-response';

/**
 * Every error leaves as `{ statusCode, code, message, …details }` — the `code` is what clients branch on. A
 * module scopes one to its controllers (see AtomicHttp) with its own codes' statuses, so its routes answer the
 * same in any host app, Express or Fastify, whatever the host's global filters.
 */
@Catch()
export class AtomicErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');
  private readonly statuses: ErrorStatuses;

  constructor(statuses: ErrorStatuses = {}) {
    this.statuses = { ...KERNEL_ERROR_STATUS, ...statuses };
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<HttpResponse>();
    const { statusCode, body } = this.toResponse(error);
    if (error instanceof AtomicError && error.replayed) response.header('Idempotent-Replayed', 'true');
    // For request logging (pino-http reads the raw response): the answer's code, and a 5xx's cause as `err`.
    const raw: { log?: unknown } = (response as { raw?: object }).raw ?? response;
    Object.assign(raw, { errorCode: body.code }, statusCode >= 500 ? { err: error } : {});
    // Without a request logger (pino-http sets `res.log`), a bug's stack is logged here.
    if (statusCode >= 500 && statusCode !== 503 && !raw.log) this.logger.error(error instanceof Error ? error.stack : String(error));
    response.status(statusCode).send({ statusCode, ...body });
  }

  private toResponse(error: unknown): { statusCode: number; body: Record<string, unknown> } {
    if (error instanceof AtomicError) {
      return { statusCode: this.statuses[error.code] ?? 500, body: { code: error.code, message: error.message, ...error.details } };
    }
    if (error instanceof HttpException) {
      const statusCode = error.getStatus();
      return { statusCode, body: { code: HTTP_STATUS_CODE[statusCode] ?? `HTTP_${statusCode}`, message: error.message } };
    }
    const statusCode = (error as { statusCode?: number })?.statusCode; // the platform's own (e.g. bad JSON, 413)
    if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
      return { statusCode, body: { code: HTTP_STATUS_CODE[statusCode] ?? `HTTP_${statusCode}`, message: (error as Error).message } };
    }
    return { statusCode: 500, body: { code: 'INTERNAL', message: 'internal error' } };
  }
}
