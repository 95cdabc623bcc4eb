export * from './atomic-http';
export * from './error.filter';
export * from './error-status';
export * from './http-response';
export * from './replay';
export * from './validation';
export * from './api-docs';
export * from './fast-validation';
