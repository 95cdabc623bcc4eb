import { applyDecorators, ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { validationFailed } from '../../libs/redis-atomic/src';

/**
 * class-validator's whitelist looks fields up in a plain object, so a field named like an Object.prototype member
 * (`constructor`, `toString`, `__proto__`…) passes as "known". Such names are never ours: refuse them first.
 */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body') {
      const field = prototypeNamedField(value);
      if (field) throw validationFailed(`property ${field} should not exist`, { errors: [`property ${field} should not exist`] });
    }
    return super.transform(value, metadata);
  }
}

function prototypeNamedField(value: unknown, path = ''): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of Object.keys(value)) {
    const here = path ? `${path}.${key}` : key;
    if (key in Object.prototype || key === 'prototype') return here;
    const nested = prototypeNamedField((value as Record<string, unknown>)[key], here);
    if (nested) return nested;
  }
  return undefined;
}

/** Unknown fields, wrong types and coercions are all refused: the body must be exactly right. */
export const validationPipe = new StrictValidationPipe({
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
export const Optional = () => ValidateIf((_, value) => value !== undefined);

/** An integer amount in minor units within the safe-integer range (1e21 and 2^53+1 are refused). */
export const MinorUnits = (min = -Number.MAX_SAFE_INTEGER) =>
  applyDecorators(IsInt(), Min(min), Max(Number.MAX_SAFE_INTEGER));
