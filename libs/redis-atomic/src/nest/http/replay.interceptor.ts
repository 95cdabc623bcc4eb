import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { map, Observable } from 'rxjs';
import { isReplayed } from '../../core/idempotency';
import type { HttpResponse } from './http-response';

/** `Idempotent-Replayed: true` on answers that replay an outcome stored under the request's Idempotency-Key. */
@Injectable()
export class ReplayHeaderInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((result) => {
      if (isReplayed(result)) context.switchToHttp().getResponse<HttpResponse>().header('Idempotent-Replayed', 'true');
      return result;
    }));
  }
}
