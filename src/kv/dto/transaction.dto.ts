import { IsArray } from 'class-validator';
import { ID_PATTERN } from '@kernel/core';
import { ApiField, ApiModels, Optional, schemaRef } from '@kernel/nest/http';
import { MAX_CONDITIONS, MAX_EXPIRE_SECONDS, MAX_UPDATES, MAX_VALUE_BYTES } from '../kv-rules';

/*
 * The documented shape of conditions and updates (one schema per `op`): the classes below only document — each
 * condition and update is checked (ops, ids, values, unknown properties) by the port's gate (ValidatedKv), whose
 * VALIDATION_FAILED names the offending item, e.g. `updates[2].by`.
 */
const MAX = Number.MAX_SAFE_INTEGER;
const id = { type: 'string', pattern: ID_PATTERN.source };
const field = { ...id, description: 'A hash field; absent = the key is a string' };
const safeInteger = { type: 'integer', minimum: -MAX, maximum: MAX };
const value = {
  description: `A string of at most ${MAX_VALUE_BYTES} bytes (UTF-8), or a safe integer (stored as its decimal text)`,
  oneOf: [{ type: 'string', maxLength: MAX_VALUE_BYTES }, safeInteger],
};
const integerValue = {
  description: 'A safe integer, or its canonical decimal text',
  oneOf: [safeInteger, { type: 'string', pattern: '^(0|-?[1-9][0-9]{0,15})$' }],
};
const op = (...ops: string[]) => ({ type: 'string', enum: ops });

export class KvTextCondition {
  @ApiField(id) key!: string;
  @ApiField({ ...field, required: false }) field?: string;
  @ApiField({ ...op('eq', 'ne'), description: 'String comparison; an absent value is never equal' }) op!: string;
  @ApiField(value) value!: string | number;
}

export class KvIntegerCondition {
  @ApiField(id) key!: string;
  @ApiField({ ...field, required: false }) field?: string;
  @ApiField({ ...op('gt', 'gte', 'lt', 'lte'), description: 'Integer comparison; an absent value fails, a non-integer one is NOT_AN_INTEGER' }) op!: string;
  @ApiField(integerValue) value!: string | number;
}

export class KvPresenceCondition {
  @ApiField(id) key!: string;
  @ApiField({ ...field, required: false }) field?: string;
  @ApiField(op('exists', 'absent')) op!: string;
}

export class KvSetUpdate {
  @ApiField({ ...op('set'), description: 'Makes the key a string (clears its TTL)' }) op!: string;
  @ApiField(id) key!: string;
  @ApiField(value) value!: string | number;
}

export class KvIncrbyUpdate {
  @ApiField({ ...op('incrby'), description: 'A string holding an integer (absent = 0) plus `by`; the result stays a safe integer' }) op!: string;
  @ApiField(id) key!: string;
  @ApiField(safeInteger) by!: number;
}

export class KvDelUpdate {
  @ApiField({ ...op('del'), description: 'Removes the key (any type; absent is fine)' }) op!: string;
  @ApiField(id) key!: string;
}

export class KvHsetUpdate {
  @ApiField(op('hset')) op!: string;
  @ApiField(id) key!: string;
  @ApiField(id) field!: string;
  @ApiField(value) value!: string | number;
}

export class KvHincrbyUpdate {
  @ApiField(op('hincrby')) op!: string;
  @ApiField(id) key!: string;
  @ApiField(id) field!: string;
  @ApiField(safeInteger) by!: number;
}

export class KvHdelUpdate {
  @ApiField({ ...op('hdel'), description: 'A hash left empty disappears' }) op!: string;
  @ApiField(id) key!: string;
  @ApiField(id) field!: string;
}

export class KvExpireUpdate {
  @ApiField({ ...op('expire'), description: 'The key expires `seconds` from now; a no-op on an absent key' }) op!: string;
  @ApiField(id) key!: string;
  @ApiField({ type: 'integer', minimum: 1, maximum: MAX_EXPIRE_SECONDS }) seconds!: number;
}

const CONDITIONS = [KvTextCondition, KvIntegerCondition, KvPresenceCondition];
const UPDATES = [KvSetUpdate, KvIncrbyUpdate, KvDelUpdate, KvHsetUpdate, KvHincrbyUpdate, KvHdelUpdate, KvExpireUpdate];

/** Write `updates` (in order) only if every condition holds — all in one atomic step. */
@ApiModels(...CONDITIONS, ...UPDATES)
export class KvTransactionDto {
  @Optional()
  @IsArray()
  @ApiField({ type: 'array', maxItems: MAX_CONDITIONS, items: { oneOf: CONDITIONS.map(schemaRef) }, description: 'Checked in order, against the state before the transaction' })
  conditions?: unknown[];

  @IsArray()
  @ApiField({ type: 'array', minItems: 1, maxItems: MAX_UPDATES, items: { oneOf: UPDATES.map(schemaRef) }, description: 'Applied in order, each seeing the previous ones' })
  updates!: unknown[];
}
