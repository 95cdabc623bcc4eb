/** Statuses of the error codes a module's routes can answer with: each module adds a table of its own codes. */
export type ErrorStatuses = Readonly<Record<string, number>>;

/** The kernel's codes, shared by every module; an unknown code is a 500. */
export const KERNEL_ERROR_STATUS: ErrorStatuses = {
  VALIDATION_FAILED: 400,
  INVALID_ARGUMENT: 400,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_MISMATCH: 422,
  SHARD_NOT_FOUND: 404,
  STORE_CORRUPTED: 500,
  STORE_UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
};

/** Codes for Nest's and the platform's own HTTP errors (unknown route, malformed JSON, body too large…). */
export const HTTP_STATUS_CODE: Readonly<Record<number, string>> = {
  400: 'VALIDATION_FAILED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
};
