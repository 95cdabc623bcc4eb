import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

/**
 * The deployment settings read from the environment besides src/config.ts (kept apart so they can be folded into
 * its validated schema later):
 *
 *   REDIS_LOAD_FUNCTIONS      true (default) | false: false = the service only verifies the Lua libraries' versions
 *                             at start (its ACL user has FCALL but not FUNCTION LOAD); deploy them with
 *                             `redis-atomic functions load`
 *   REDIS_TLS_CA_FILE         PEM file of the CA(s) that sign the Redis server's certificate; turns TLS on
 *   RATE_LIMIT_MAX            requests per client (IP) per window; unset or 0 = no rate limit (default)
 *   RATE_LIMIT_WINDOW_SECONDS the window, default 60
 */
export interface RedisDeployEnv {
  loadFunctions?: boolean;
  /** Set only when REDIS_TLS_CA_FILE is: Node TLS options with that CA. */
  tls?: ConnectionOptions;
}

export interface RateLimitConfig {
  /** Requests allowed per client per window. */
  limit: number;
  windowSeconds: number;
}

export function redisDeployEnv(env: NodeJS.ProcessEnv): RedisDeployEnv {
  const out: RedisDeployEnv = {};
  const load = env.REDIS_LOAD_FUNCTIONS;
  if (load !== undefined && load !== '') {
    if (load !== 'true' && load !== 'false') throw new Error(`REDIS_LOAD_FUNCTIONS must be true or false (got "${load}")`);
    out.loadFunctions = load === 'true';
  }
  const caFile = env.REDIS_TLS_CA_FILE;
  if (caFile) {
    if (env.REDIS_TLS === 'false') throw new Error('REDIS_TLS_CA_FILE is set but REDIS_TLS=false: remove one of them');
    let ca: Buffer;
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new Error(`REDIS_TLS_CA_FILE: cannot read ${caFile}: ${(err as Error).message}`);
    }
    out.tls = { ca };
  }
  return out;
}

/** The optional per-client rate limit; undefined (off) unless RATE_LIMIT_MAX is a positive integer. */
export function rateLimitEnv(env: NodeJS.ProcessEnv): RateLimitConfig | undefined {
  const limit = nonNegative(env, 'RATE_LIMIT_MAX', 0);
  if (limit === 0) return undefined;
  const windowSeconds = nonNegative(env, 'RATE_LIMIT_WINDOW_SECONDS', 60);
  if (windowSeconds < 1) throw new Error('RATE_LIMIT_WINDOW_SECONDS must be at least 1');
  return { limit, windowSeconds };
}

function nonNegative(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new Error(`${name} must be a non-negative integer (got "${raw}")`);
  return Number(raw);
}
