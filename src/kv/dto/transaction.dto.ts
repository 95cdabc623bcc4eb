import { IsArray } from 'class-validator';
import { Optional } from '@kernel/nest/http';

/**
 * The body's shape only: each condition and update is checked (ops, ids, values, unknown properties) by the
 * port's gate (ValidatedKv), whose VALIDATION_FAILED names the offending item, e.g. `updates[2].by`.
 */
export class KvTransactionDto {
  @Optional()
  @IsArray()
  conditions?: unknown[];

  @IsArray()
  updates!: unknown[];
}
