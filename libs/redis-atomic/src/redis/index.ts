// redis: everything that speaks to a Redis server (ioredis lives here and in adapters only).
export * from './connection';
export * from './durability';
export * from './event-log-reader';
export * from './functions';
export * from './idempotent-steps';
export * from './key-locks';
export * from './transactions';
export * from './lua-source';
export * from './node-health';
