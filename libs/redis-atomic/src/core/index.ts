// core: what every layer may know — no ioredis, no Nest.
export * from './errors';
export * from './events';
export * from './idempotency';
export * from './keys';
export * from './slots';
export * from './strategy';
export * from './observer';
export * from './shards';
export * from './shard-sweeper';
