export * from './atomic-http';
export * from './error.filter';
export * from './error-status';
export * from './http-response';
export * from './replay.interceptor';
export * from './validation';
export * from './body-parser';
