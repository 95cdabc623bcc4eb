// memory: the in-process stores of the memory strategy (no Redis, no Nest).
export * from './event-log';
export * from './idempotency';
export * from './memory-stores';
