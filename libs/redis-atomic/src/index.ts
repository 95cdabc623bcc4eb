export * from './connection';
export * from './errors';
export * from './functions';
export * from './keys';
export * from './redis-atomic.module';
export * from './transactions';
export * from './key-locks';
export * from './idempotency';
