import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { isReplayed } from '../../core/idempotency';
import type { HttpResponse } from './http-response';

/** Returns the result, with `Idempotent-Replayed: true` on the answer when it replays a stored outcome. */
export type ReplayHeader = <T>(result: T) => T;

/**
 * `@Replay() replay` on a write handler: `return replay(await port.write(…))`. A parameter rather than an
 * interceptor: an interceptor puts rxjs and two AsyncResource binds on every request of the route (measured
 * ~10% of the service's CPU per request); this is one closure. Replayed failures get the header from the
 * module's error filter.
 */
export const Replay = createParamDecorator((_: unknown, context: ExecutionContext): ReplayHeader => {
  const response = context.switchToHttp().getResponse<HttpResponse>();
  return (result) => {
    if (isReplayed(result)) response.header('Idempotent-Replayed', 'true');
    return result;
  };
});
