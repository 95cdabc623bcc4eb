import type { ErrorStatuses } from '@kernel/nest/http';
import type { KvErrorCode } from './kv.port';

/** HTTP statuses of the kv codes (the kernel's codes are mapped by the kernel). */
export const KV_ERROR_STATUS: ErrorStatuses & Record<KvErrorCode, number> = {
  KEY_NOT_FOUND: 404,
  CONDITION_FAILED: 409,
  WRONG_TYPE: 422,
  NOT_AN_INTEGER: 422,
  INTEGER_OVERFLOW: 422,
};
