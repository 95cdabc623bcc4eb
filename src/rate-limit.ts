import { DynamicModule, ExecutionContext, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { RateLimitConfig } from './deploy-env';

/** Routes probes and scrapers call: never rate-limited. */
export const RATE_LIMIT_EXEMPT = /^\/(health|metrics)(\/|\?|$)/;

/**
 * The optional per-client rate limit (RATE_LIMIT_MAX / RATE_LIMIT_WINDOW_SECONDS): each client IP gets `limit`
 * requests per window across all routes, counted in this process. Over it: 429 `RATE_LIMITED` (the kernel's
 * filter names Nest's 429) with `Retry-After` in seconds. Off (nothing imported) when `config` is undefined.
 */
export function rateLimit(config: RateLimitConfig | undefined): { imports: DynamicModule[]; providers: Provider[] } {
  if (!config) return { imports: [], providers: [] };
  // Loaded only when the limit is on: @nestjs/throttler is an optional peer of the package.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ThrottlerGuard, ThrottlerModule } = require('@nestjs/throttler') as typeof import('@nestjs/throttler');
  return {
    imports: [ThrottlerModule.forRoot({
      throttlers: [{ ttl: config.windowSeconds * 1000, limit: config.limit }],
      // One budget per client for the whole API (the default is one per route).
      generateKey: (_context: ExecutionContext, tracker: string) => tracker,
      skipIf: (context: ExecutionContext) => RATE_LIMIT_EXEMPT.test(context.switchToHttp().getRequest<{ url?: string }>().url ?? ''),
      errorMessage: `rate limit exceeded: at most ${config.limit} requests per ${config.windowSeconds} s; retry after Retry-After seconds`,
    })],
    providers: [{ provide: APP_GUARD, useClass: ThrottlerGuard }],
  };
}
