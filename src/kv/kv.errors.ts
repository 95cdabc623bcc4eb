import { ID_PATTERN } from '@kernel/core';
import { ErrorDetailsDoc, ErrorStatuses, INDEX_DETAIL } from '@kernel/nest/http';
import type { KvErrorCode } from './kv.port';

/** HTTP statuses of the kv codes (the kernel's codes are mapped by the kernel). */
export const KV_ERROR_STATUS: ErrorStatuses & Record<KvErrorCode, number> = {
  KEY_NOT_FOUND: 404,
  CONDITION_FAILED: 409,
  WRONG_TYPE: 422,
  NOT_AN_INTEGER: 422,
  INTEGER_OVERFLOW: 422,
};

const id = { type: 'string', pattern: ID_PATTERN.source };
const where = { type: 'string', enum: ['condition', 'update'], description: 'Which list `index` points into' };
const item = { in: where, index: INDEX_DETAIL, key: id, field: id };

/** What each kv code carries besides its message (the API documentation; lua/kv.lua and kv-rules.ts). */
export const KV_ERROR_DETAILS: Record<KvErrorCode, ErrorDetailsDoc> = {
  KEY_NOT_FOUND: { properties: { key: id }, required: ['key'] },
  CONDITION_FAILED: {
    properties: { index: INDEX_DETAIL, key: id, field: id, op: { type: 'string', enum: ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists', 'absent'] } },
    required: ['index', 'key', 'op'],
  },
  // In a transaction: where, index, key, field?, type; from GET /kv/:key: key and type.
  WRONG_TYPE: { properties: { ...item, type: { type: 'string', description: 'What the key holds (a Redis type)' } }, required: ['key', 'type'] },
  NOT_AN_INTEGER: { properties: item, required: ['in', 'index', 'key'] },
  INTEGER_OVERFLOW: { properties: item, required: ['in', 'index', 'key'] },
};
