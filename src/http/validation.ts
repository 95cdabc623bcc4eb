import { applyDecorators, ValidationError, ValidationPipe } from '@nestjs/common';
import { IsInt, Max, Min, ValidateIf } from 'class-validator';
import { validationFailed } from '../../libs/redis-atomic/src';

/** Unknown fields, wrong types and coercions are all refused: the body must be exactly right. */
export const validationPipe = new ValidationPipe({
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
