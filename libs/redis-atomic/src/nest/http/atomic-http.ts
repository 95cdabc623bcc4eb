import { applyDecorators, UseFilters, UseInterceptors } from '@nestjs/common';
import { AtomicErrorFilter } from './error.filter';
import type { ErrorStatuses } from './error-status';
import { ReplayHeaderInterceptor } from './replay.interceptor';

/**
 * What a module's controller needs to answer exactly like the service in any host app: its error codes →
 * statuses (plus the kernel's) and the `Idempotent-Replayed` header, scoped to this controller. Bodies are
 * validated by `@AtomicBody()` on each handler (so the host's own global ValidationPipe never reshapes them).
 */
export const AtomicHttp = (statuses: ErrorStatuses = {}): ClassDecorator =>
  applyDecorators(UseFilters(new AtomicErrorFilter(statuses)), UseInterceptors(ReplayHeaderInterceptor));
