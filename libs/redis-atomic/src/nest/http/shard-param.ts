import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/**
 * The shard named by the route's path (`/ledgers/:ledger/…` → `ledger`), or undefined on the plain routes, which
 * serve the module's default shard: one handler serves both mounts (`directory.shard(name)`). A custom decorator
 * rather than `@Param` so the plain routes' documents get no path parameter they do not have.
 */
export const ShardParam = createParamDecorator((name: string, context: ExecutionContext): string | undefined =>
  context.switchToHttp().getRequest<{ params?: Record<string, string | undefined> }>().params?.[name]);
