/** HTTP status of every error code a port can raise; unknown codes are 500. Add a row per new code. */
export const ERROR_STATUS: Readonly<Record<string, number>> = {
  VALIDATION_FAILED: 400,
  /** A Lua function called directly with malformed KEYS or ARGV (lua/include/args.lua); nothing ran. */
  INVALID_ARGUMENT: 400,
  ACCOUNT_NOT_FOUND: 404,
  PRODUCT_NOT_FOUND: 404,
  ORDER_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  ACCOUNT_EXISTS: 409,
  ORDER_EXISTS: 409,
  ORDER_NOT_CANCELLABLE: 409,
  INVALID_TRANSITION: 409,
  CONFLICT: 409,
  CONDITION_FAILED: 409,
  INSUFFICIENT_FUNDS: 422,
  BALANCE_LIMIT_EXCEEDED: 422,
  IDEMPOTENCY_KEY_MISMATCH: 422,
  IDEMPOTENCY_KEY_IN_PROGRESS: 409,
  OUT_OF_STOCK: 422,
  STOCK_LIMIT_EXCEEDED: 422,
  STATS_LIMIT_EXCEEDED: 422,
  WRONG_TYPE: 422,
  NOT_AN_INTEGER: 422,
  INTEGER_OVERFLOW: 422,
  STORE_CORRUPTED: 500,
  STORE_UNAVAILABLE: 503,
  OUTCOME_UNKNOWN: 503,
};

/** Codes for Nest/Fastify's own HTTP errors (unknown route, malformed JSON, body too large…). */
export const HTTP_STATUS_CODE: Readonly<Record<number, string>> = {
  400: 'VALIDATION_FAILED',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};
