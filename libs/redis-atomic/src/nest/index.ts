// nest: modules, providers and the HTTP pieces a feature module's controllers use (those also from './http').
export * from './feature-module';
export * from './http';
export * from './instance-tokens';
export * from './redis-atomic.module';
export * from './strategy-provider';
export * from './metrics';
