import { ID_PATTERN } from '@kernel/core';
import { ApiField } from '@kernel/nest/http';
import { MAX_UPDATES } from '../kv-rules';

/** The success bodies of the kv routes (documentation only). */
const key = { type: 'string', pattern: ID_PATTERN.source };
const ttl = { type: 'integer', minimum: 1, required: false, description: 'Seconds left, when the key has a TTL' };

export class KvReceiptResponse {
  @ApiField({ type: 'boolean', enum: [true] }) applied!: true;
  @ApiField({ type: 'integer', minimum: 1, maximum: MAX_UPDATES, description: 'The number of updates applied (all of them)' }) updates!: number;
}

export class KvStringEntryResponse {
  @ApiField(key) key!: string;
  @ApiField({ type: 'string', enum: ['string'] }) type!: 'string';
  @ApiField({ type: 'string' }) value!: string;
  @ApiField(ttl) ttlSeconds?: number;
}

export class KvHashEntryResponse {
  @ApiField(key) key!: string;
  @ApiField({ type: 'string', enum: ['hash'] }) type!: 'hash';
  @ApiField({ type: 'object', additionalProperties: { type: 'string' }, description: 'Field → value' }) value!: Record<string, string>;
  @ApiField(ttl) ttlSeconds?: number;
}
