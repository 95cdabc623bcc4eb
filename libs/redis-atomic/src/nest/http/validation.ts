import { applyDecorators, ArgumentMetadata, createParamDecorator, ExecutionContext, ValidationError, ValidationPipe } from '@nestjs/common';
import { IsInt, Matches, Max, Min, ValidateIf } from 'class-validator';
import { validationFailed } from '../../core/errors';
import { ID_PATTERN } from '../../core/keys';
import { ApiField } from './api-docs';
import { fastCheck } from './fast-validation';

/**
 * class-validator's whitelist looks fields up in a plain object, so a field named like an Object.prototype member
 * (`constructor`, `toString`, `__proto__`…) passes as "known". Such names are never ours: refuse them first.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'custom') {
      const field = prototypeNamedField(value);
      if (field) throw validationFailed(`property ${field} should not exist`, { errors: [`property ${field} should not exist`] });
      // A certainly-valid body skips class-transformer and class-validator (handlers get the plain object).
      const check = metadata.metatype && !BUILT_IN.has(metadata.metatype) ? fastCheck(metadata.metatype) : undefined;
      if (check?.(value)) return value;
    }
    return super.transform(value, metadata);
  }
}

/** Types ValidationPipe never validates (a body declared `unknown` or `object`). */
const BUILT_IN = new Set<unknown>([String, Boolean, Number, Array, Object, Buffer, Date]);

/** Bodies nest a few levels at most; deeper ones are refused before anything walks them recursively. */
const MAX_BODY_DEPTH = 32;

function prototypeNamedField(body: unknown): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: body, path: '', depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value, path, depth } = item;
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_BODY_DEPTH) {
      throw validationFailed(`body nested deeper than ${MAX_BODY_DEPTH} levels`, { errors: [`body nested deeper than ${MAX_BODY_DEPTH} levels`] });
    }
    for (const key of Object.keys(value)) {
      const here = path ? `${path}.${key}` : key;
      if (key in Object.prototype || key === 'prototype') return here;
      stack.push({ value: (value as Record<string, unknown>)[key], path: here, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Unknown fields, wrong types and coercions are all refused: the body must be exactly right. */
export const validationPipe = new StrictValidationPipe({
  validateCustomDecorators: true,
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  transform: true,
  transformOptions: { enableImplicitConversion: false },
  exceptionFactory: (errors) => {
    const messages = flatten(errors);
    return validationFailed(messages.join('; '), { errors: messages });
  },
});

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    return [...Object.values(e.constraints ?? {}), ...flatten(e.children ?? [], path)].map((m) =>
      m.startsWith(path) || !parent ? m : `${path}: ${m}`);
  });
}

/** Optional means absent — not null. */
export const Optional = () => applyDecorators(ValidateIf((_, value) => value !== undefined), ApiField({ required: false }));

/** An integer amount in minor units within the safe-integer range (1e21 and 2^53+1 are refused). */
export const MinorUnits = (min = -Number.MAX_SAFE_INTEGER) =>
  applyDecorators(IsInt(), Min(min), Max(Number.MAX_SAFE_INTEGER),
    ApiField({ type: 'integer', minimum: min, maximum: Number.MAX_SAFE_INTEGER }));

/** An id that becomes part of a key: `^[A-Za-z0-9_-]{1,64}$`. */
export const AtomicId = () => applyDecorators(Matches(ID_PATTERN), ApiField({ type: 'string', pattern: ID_PATTERN.source }));

/**
 * The request body, validated by our strict pipe against the parameter's DTO class. A custom decorator rather
 * than `@Body()`: a host app's global ValidationPipe skips custom decorators, so it can neither coerce `"10"`
 * into 10 nor strip unknown fields before we refuse them.
 */
export const AtomicBody = (): ParameterDecorator =>
  createParamDecorator((_: unknown, context: ExecutionContext) => context.switchToHttp().getRequest<{ body?: unknown }>().body)(validationPipe);
