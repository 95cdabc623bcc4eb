import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AtomicError } from '../../libs/redis-atomic/src';
import { ERROR_STATUS, HTTP_STATUS_CODE } from './error-status';

/** Every error leaves as `{ statusCode, code, message, …details }` — the `code` is what clients branch on. */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { statusCode, body } = toResponse(error);
    if (statusCode >= 500 && statusCode !== 503) this.logger.error(error instanceof Error ? error.stack : String(error));
    if (error instanceof AtomicError && error.replayed) void reply.header('Idempotent-Replayed', 'true');
    void reply.status(statusCode).send({ statusCode, ...body });
  }
}

function toResponse(error: unknown): { statusCode: number; body: Record<string, unknown> } {
  if (error instanceof AtomicError) {
    return { statusCode: ERROR_STATUS[error.code] ?? 500, body: { code: error.code, message: error.message, ...error.details } };
  }
  if (error instanceof HttpException) {
    const statusCode = error.getStatus();
    return { statusCode, body: { code: HTTP_STATUS_CODE[statusCode] ?? `HTTP_${statusCode}`, message: error.message } };
  }
  const statusCode = (error as { statusCode?: number })?.statusCode; // Fastify's own (e.g. bad JSON, 413)
  if (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500) {
    return { statusCode, body: { code: HTTP_STATUS_CODE[statusCode] ?? `HTTP_${statusCode}`, message: (error as Error).message } };
  }
  return { statusCode: 500, body: { code: 'INTERNAL', message: 'internal error' } };
}
