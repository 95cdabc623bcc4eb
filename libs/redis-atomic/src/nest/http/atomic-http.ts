import { UseFilters } from '@nestjs/common';
import { AtomicErrorFilter } from './error.filter';
import type { ErrorStatuses } from './error-status';

/**
 * What a module's controller needs to answer exactly like the service in any host app: its error codes →
 * statuses (plus the kernel's), scoped to this controller (more specific than any global filter of the host).
 * Bodies are validated by `@AtomicBody()` on each handler (so the host's own global ValidationPipe never
 * reshapes them), and write handlers mark replays with `@Replay()`.
 */
export const AtomicHttp = (statuses: ErrorStatuses = {}): ClassDecorator => UseFilters(new AtomicErrorFilter(statuses));
