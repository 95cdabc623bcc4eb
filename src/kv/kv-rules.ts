import { assertId, assertIdempotencyKey, AtomicError, validationFailed } from '@kernel/core';
import type { KvCondition, KvErrorCode, KvTransaction, KvUpdate, WriteOptions } from './kv.port';

/**
 * The conditional store's rules in plain TypeScript: input validation and normalization (shared by every adapter,
 * so bad input never reaches Redis), and the planner that decides — before anything is written — whether a
 * transaction applies, used by the memory and transactions adapters. lua/kv.lua implements the same planner
 * server-side; the contract suite keeps them identical.
 */

export const MAX_CONDITIONS = 32;
export const MAX_UPDATES = 32;
export const MAX_VALUE_BYTES = 4096;
export const MAX_EXPIRE_SECONDS = 315_360_000; // 10 years

export const CONDITION_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'exists', 'absent'] as const;
const NUMERIC_OPS = new Set(['gt', 'gte', 'lt', 'lte']);

/** What adapters receive from the gate: values as text (integers as canonical decimal), nothing else. */
export interface CheckedCondition {
  op: KvCondition['op'];
  key: string;
  field?: string;
  value?: string;
}

export interface CheckedUpdate {
  op: KvUpdate['op'];
  key: string;
  field?: string;
  value?: string;
  by?: number;
  seconds?: number;
}

export interface CheckedTransaction {
  conditions: CheckedCondition[];
  updates: CheckedUpdate[];
}

export const kvError = (code: KvErrorCode, message: string, details: Record<string, unknown> = {}) =>
  new AtomicError(code, message, details);

/** A stored integer: canonical decimal ('0' or -?[1-9]\d*) within ±(2^53 - 1); null for anything else. */
const INTEGER = /^(0|-?[1-9]\d{0,15})$/;
export function parseInteger(text: string | null): number | null {
  if (text === null || !INTEGER.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

// ---------------------------------------------------------------------------------------------- validation

/** The write options as adapters get them: a checked key, nothing else carried over. */
export function checkWriteOptions(options: WriteOptions | undefined): WriteOptions {
  assertIdempotencyKey(options?.idempotencyKey);
  return { idempotencyKey: options?.idempotencyKey };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function onlyProps(item: Record<string, unknown>, allowed: string[], where: string): void {
  const extra = Object.keys(item).filter((k) => !allowed.includes(k));
  if (extra.length) throw validationFailed(`${where} has unknown properties: ${extra.join(', ')}`, { field: where });
}

function text(value: unknown, where: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  if (typeof value === 'string' && Buffer.byteLength(value, 'utf8') <= MAX_VALUE_BYTES) return value;
  throw validationFailed(`${where} must be a string of at most ${MAX_VALUE_BYTES} bytes or a safe integer`, { field: where });
}

function integerText(value: unknown, where: string): string {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? parseInteger(value) : null;
  if (n === null || !Number.isSafeInteger(n)) throw validationFailed(`${where} must be a safe integer`, { field: where });
  return String(n);
}

function integer(value: unknown, where: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw validationFailed(`${where} must be an integer from ${min} to ${max}`, { field: where });
  }
  return value;
}

function checkCondition(raw: unknown, i: number): CheckedCondition {
  const where = `conditions[${i}]`;
  if (!isObject(raw)) throw validationFailed(`${where} must be an object`, { field: where });
  onlyProps(raw, ['key', 'field', 'op', 'value'], where);
  const { key, field, op, value } = raw;
  assertId(key, `${where}.key`);
  if (field !== undefined) assertId(field, `${where}.field`);
  if (typeof op !== 'string' || !(CONDITION_OPS as readonly string[]).includes(op)) {
    throw validationFailed(`${where}.op must be one of ${CONDITION_OPS.join(', ')}`, { field: `${where}.op` });
  }
  const condition: CheckedCondition = { op: op as CheckedCondition['op'], key };
  if (field !== undefined) condition.field = field as string;
  if (op === 'exists' || op === 'absent') {
    if (value !== undefined) throw validationFailed(`${where}.value is not allowed with ${op}`, { field: `${where}.value` });
  } else {
    condition.value = NUMERIC_OPS.has(op) ? integerText(value, `${where}.value`) : text(value, `${where}.value`);
  }
  return condition;
}

const UPDATE_PROPS: Record<KvUpdate['op'], string[]> = {
  set: ['value'], incrby: ['by'], del: [], hset: ['field', 'value'], hincrby: ['field', 'by'], hdel: ['field'], expire: ['seconds'],
};

function checkUpdate(raw: unknown, i: number): CheckedUpdate {
  const where = `updates[${i}]`;
  if (!isObject(raw)) throw validationFailed(`${where} must be an object`, { field: where });
  const op = raw.op;
  if (typeof op !== 'string' || !Object.prototype.hasOwnProperty.call(UPDATE_PROPS, op)) {
    throw validationFailed(`${where}.op must be one of ${Object.keys(UPDATE_PROPS).join(', ')}`, { field: `${where}.op` });
  }
  const props = UPDATE_PROPS[op as KvUpdate['op']];
  onlyProps(raw, ['op', 'key', ...props], where);
  assertId(raw.key, `${where}.key`);
  const update: CheckedUpdate = { op: op as KvUpdate['op'], key: raw.key };
  if (props.includes('field')) {
    assertId(raw.field, `${where}.field`);
    update.field = raw.field;
  }
  if (props.includes('value')) update.value = text(raw.value, `${where}.value`);
  if (props.includes('by')) update.by = integer(raw.by, `${where}.by`, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (props.includes('seconds')) update.seconds = integer(raw.seconds, `${where}.seconds`, 1, MAX_EXPIRE_SECONDS);
  return update;
}

/** The transaction as adapters get it, or VALIDATION_FAILED naming the offending field. */
export function checkTransaction(tx: KvTransaction): CheckedTransaction {
  if (!isObject(tx)) throw validationFailed('the transaction must be an object', { field: 'transaction' });
  onlyProps(tx, ['conditions', 'updates'], 'transaction');
  const conditions = tx.conditions ?? [];
  if (!Array.isArray(conditions) || conditions.length > MAX_CONDITIONS) {
    throw validationFailed(`conditions must be an array of at most ${MAX_CONDITIONS}`, { field: 'conditions' });
  }
  if (!Array.isArray(tx.updates) || tx.updates.length < 1 || tx.updates.length > MAX_UPDATES) {
    throw validationFailed(`updates must be an array of 1 to ${MAX_UPDATES}`, { field: 'updates' });
  }
  return { conditions: conditions.map(checkCondition), updates: tx.updates.map(checkUpdate) };
}

/** The normalized request an idempotency fingerprint is taken of — the same in every adapter. */
export const requestOf = (tx: CheckedTransaction): unknown => ['kv.transaction', tx.conditions, tx.updates];

/** Keys in order of first appearance (conditions, then updates): the KEYS of the FCALL, the WATCHed keys. */
export function keysOf(tx: CheckedTransaction): string[] {
  return [...new Set([...tx.conditions.map((c) => c.key), ...tx.updates.map((u) => u.key)])];
}

/** Whether the transaction's validity depends on stored data (conditions, or updates that check type/value). */
export const mustRead = (tx: CheckedTransaction): boolean =>
  tx.conditions.length > 0 || tx.updates.some((u) => u.op !== 'set' && u.op !== 'del' && u.op !== 'expire');

// ---------------------------------------------------------------------------------------------- planner

export type StoredType = 'string' | 'hash' | 'none' | string;

/** The stored state before the transaction, as the planner reads it (lazily). */
export interface KvReader {
  type(key: string): StoredType;
  /** A string key's value. */
  value(key: string): string | null;
  /** A hash key's number of fields. */
  length(key: string): number;
  /** A hash key's field (null when absent). */
  field(key: string, field: string): string | null;
}

interface Shadow {
  type: StoredType;
  value: string | null;
  length: number;
  /** Known fields (null = absent); `fresh`: the hash was (re)created here, so unknown fields are absent. */
  fields: Map<string, string | null>;
  fresh: boolean;
}

const detail = (where: 'condition' | 'update', index: number, key: string, field?: string) =>
  (field === undefined ? { in: where, index, key } : { in: where, index, key, field });

/**
 * Decides a transaction on the state before it: throws the first failure (conditions first, in order, then each
 * update against the effects of the previous ones), or returns normally when every update will apply without
 * error. Mirrors lua/kv.lua's `plan`.
 */
export function planTransaction(tx: CheckedTransaction, reader: KvReader): void {
  const shadows = new Map<string, Shadow>();
  const shadow = (key: string): Shadow => {
    let s = shadows.get(key);
    if (!s) {
      const type = reader.type(key);
      s = { type, value: type === 'string' ? reader.value(key) : null, length: type === 'hash' ? reader.length(key) : 0, fields: new Map(), fresh: type !== 'hash' };
      shadows.set(key, s);
    }
    return s;
  };
  const fieldOf = (key: string, s: Shadow, field: string): string | null => {
    if (!s.fields.has(field)) s.fields.set(field, s.fresh ? null : reader.field(key, field));
    return s.fields.get(field)!;
  };
  const wrongType = (where: 'condition' | 'update', index: number, key: string, field: string | undefined, type: string) =>
    kvError('WRONG_TYPE', `${where} ${index}: ${key} holds a ${type}, not a ${field === undefined ? 'string' : 'hash'}`,
      { ...detail(where, index, key, field), type });
  const notInteger = (where: 'condition' | 'update', index: number, key: string, field?: string) =>
    kvError('NOT_AN_INTEGER', `${where} ${index}: the value of ${key}${field === undefined ? '' : `.${field}`} is not an integer`,
      detail(where, index, key, field));

  tx.conditions.forEach((c, index) => {
    const s = shadow(c.key);
    const expected = c.field === undefined ? 'string' : 'hash';
    if (s.type !== expected && s.type !== 'none') throw wrongType('condition', index, c.key, c.field, s.type);
    const current = c.field === undefined ? s.value : s.type === 'none' ? null : fieldOf(c.key, s, c.field);
    let holds: boolean;
    switch (c.op) {
      case 'exists': holds = current !== null; break;
      case 'absent': holds = current === null; break;
      case 'eq': holds = current === c.value; break;
      case 'ne': holds = current !== c.value; break;
      default: {
        if (current === null) { holds = false; break; }
        const n = parseInteger(current);
        if (n === null) throw notInteger('condition', index, c.key, c.field);
        const v = Number(c.value);
        holds = c.op === 'gt' ? n > v : c.op === 'gte' ? n >= v : c.op === 'lt' ? n < v : n <= v;
      }
    }
    if (!holds) {
      throw kvError('CONDITION_FAILED', `condition ${index} does not hold`,
        c.field === undefined ? { index, key: c.key, op: c.op } : { index, key: c.key, field: c.field, op: c.op });
    }
  });

  tx.updates.forEach((u, index) => {
    const s = shadow(u.key);
    const reset = (type: StoredType) => {
      s.type = type; s.value = null; s.length = 0; s.fields = new Map(); s.fresh = true;
    };
    switch (u.op) {
      case 'set': reset('string'); s.value = u.value!; return;
      case 'del': reset('none'); return;
      case 'expire': return;
      case 'incrby': {
        if (s.type !== 'string' && s.type !== 'none') throw wrongType('update', index, u.key, undefined, s.type);
        const n = s.type === 'none' ? 0 : parseInteger(s.value);
        if (n === null) throw notInteger('update', index, u.key);
        const result = n + u.by!;
        if (!Number.isSafeInteger(result)) {
          throw kvError('INTEGER_OVERFLOW', `update ${index}: the result would leave the safe-integer range`, detail('update', index, u.key));
        }
        if (s.type === 'none') reset('string');
        s.value = String(result);
        return;
      }
      default: { // hset, hincrby, hdel
        if (s.type !== 'hash' && s.type !== 'none') throw wrongType('update', index, u.key, u.field, s.type);
        const field = u.field!;
        const old = s.type === 'none' ? null : fieldOf(u.key, s, field);
        let next: string | null;
        if (u.op === 'hset') next = u.value!;
        else if (u.op === 'hdel') next = null;
        else {
          const n = old === null ? 0 : parseInteger(old);
          if (n === null) throw notInteger('update', index, u.key, field);
          const result = n + u.by!;
          if (!Number.isSafeInteger(result)) {
            throw kvError('INTEGER_OVERFLOW', `update ${index}: the result would leave the safe-integer range`, detail('update', index, u.key, field));
          }
          next = String(result);
        }
        if (s.type === 'none') {
          if (next === null) return; // hdel on an absent key
          reset('hash');
        }
        s.length += (next !== null ? 1 : 0) - (old !== null ? 1 : 0);
        s.fields.set(field, next);
        if (s.length === 0) reset('none'); // Redis removes an emptied hash
      }
    }
  });
}

/** The answer of a transaction that applied. */
export const receipt = (updates: number) => ({ applied: true as const, updates });

export const keyNotFound = (key: string) => kvError('KEY_NOT_FOUND', 'key not found', { key });
