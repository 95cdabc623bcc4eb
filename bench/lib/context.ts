import type Redis from 'ioredis';
import type { RedisServer } from '@kernel/testing';
import type { LoadOptions } from './measure';
import type { Report } from './report';

/** What every scenario gets: the bench's PRIVATE redis-server (never the one on 6379) and the report. */
export interface BenchContext {
  quick: boolean;
  /** Project root (cwd of child processes). */
  root: string;
  server: RedisServer;
  /** A plain client for setup and INFO/CONFIG on the private server. */
  admin: Redis;
  report: Report;
  /** In-flight operations from one process. */
  concurrencies: number[];
  warmupMs: number;
  measureMs: number;
}

export const loadOptions = (ctx: BenchContext, concurrency: number, scale = 1): LoadOptions => ({
  concurrency,
  warmupMs: ctx.warmupMs * scale,
  durationMs: ctx.measureMs * scale,
});
