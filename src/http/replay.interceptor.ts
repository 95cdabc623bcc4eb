import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { map, Observable } from 'rxjs';
import { isReplayed } from '../../libs/redis-atomic/src';

/** `Idempotent-Replayed: true` on answers that replay an outcome stored under the request's Idempotency-Key. */
@Injectable()
export class ReplayHeaderInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((result) => {
      if (isReplayed(result)) context.switchToHttp().getResponse<FastifyReply>().header('Idempotent-Replayed', 'true');
      return result;
    }));
  }
}
