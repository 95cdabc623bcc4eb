/** The answer to a request that arrives while the service drains (with a `code`, like every error). See Drain. */
export const SHUTTING_DOWN = { statusCode: 503, code: 'SHUTTING_DOWN', message: 'the service is shutting down: retry on another instance' } as const;
