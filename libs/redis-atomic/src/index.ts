// The kernel, every layer. Feature code imports the layer it may use (`@kernel/core`, `@kernel/nest/http`…),
// never this barrel: it reaches ioredis.
export * from './core';
export * from './memory';
export * from './nest';
export * from './redis';
