import type { InjectionToken } from '@nestjs/common';

/** The token function of a port's instances: `undefined` → `base` (the unnamed instance), a name → its own token. */
export const instanceTokens = (base: InjectionToken, label: string) => (name?: string): InjectionToken =>
  name === undefined ? base : `redis-atomic:${label}:${name}`;
