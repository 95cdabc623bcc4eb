import { applyDecorators, Type } from '@nestjs/common';
import { ID_PATTERN } from '../../core/keys';
import { IDEMPOTENCY_KEY_PATTERN } from '../../core/idempotency';
import { ErrorStatuses, HTTP_STATUS_CODE, KERNEL_ERROR_STATUS } from './error-status';

/**
 * OpenAPI documentation of a module's routes, from the same tables the routes answer with: the statuses come
 * from the module's error table and the kernel's, the rules from the validation decorators.
 *
 * `@nestjs/swagger` is optional: an app that does not install it gets routes that work the same and document
 * nothing (these decorators then do nothing), so importing a module never requires it. Nothing here reaches
 * ioredis: DTOs and controllers may use it freely.
 */
type Swagger = typeof import('@nestjs/swagger');
const swagger: Swagger | undefined = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('@nestjs/swagger') as Swagger;
  } catch {
    return undefined;
  }
})();

/** A JSON-schema fragment (OpenAPI 3.0 dialect), loosely typed so our declarations never need swagger's types. */
export type SchemaDoc = Record<string, unknown>;

const noop = () => undefined;

/** Documents a DTO property (merged with what the validation decorators already documented on it). */
export const ApiField = (schema: SchemaDoc): PropertyDecorator =>
  swagger ? swagger.ApiProperty(schema as never) : noop;

/** Schemas the document must hold although no route names them directly (e.g. the members of a oneOf). */
export const ApiModels = (...models: Type<unknown>[]): ClassDecorator & MethodDecorator =>
  (swagger ? swagger.ApiExtraModels(...models) : noop) as ClassDecorator & MethodDecorator;

/** The tag (group) of a controller's routes. */
export const ApiGroup = (tag: string): ClassDecorator => (swagger ? swagger.ApiTags(tag) : noop);

/** Keeps a controller out of the public document (an operator UI and its private JSON: `BoardModule`). */
export const ApiHidden = (): ClassDecorator => (swagger ? swagger.ApiExcludeController() : noop);

/** `{ $ref }` to a DTO class's schema. */
export const schemaRef = (model: Type<unknown>): SchemaDoc => ({ $ref: `#/components/schemas/${model.name}` });

/** An id path parameter: `^[A-Za-z0-9_-]{1,64}$`, checked by the port (a bad one is a 400 before Redis is asked). */
export const ApiIdParam = (name: string, description?: string): MethodDecorator =>
  swagger ? swagger.ApiParam({ name, required: true, description, schema: { type: 'string', pattern: ID_PATTERN.source } }) : noop;

/** A query parameter with its schema. */
export const ApiQueryParam = (name: string, schema: SchemaDoc, options: { required?: boolean; description?: string } = {}): MethodDecorator =>
  swagger ? swagger.ApiQuery({ name, required: options.required ?? false, description: options.description, schema: schema as never }) : noop;

/** The details an error code carries beside `statusCode`, `code` and `message` (e.g. INSUFFICIENT_FUNDS: balance, floor). */
export interface ErrorDetailsDoc {
  properties?: Readonly<Record<string, SchemaDoc>>;
  required?: readonly string[];
}
export type ErrorDetails = Readonly<Record<string, ErrorDetailsDoc>>;

const integer = (minimum?: number): SchemaDoc => ({ type: 'integer', ...(minimum === undefined ? {} : { minimum }) });
/** The kernel's and the platform's codes: what each carries (see core/errors.ts, redis/transactions.ts). */
export const KERNEL_ERROR_DETAILS: ErrorDetails = {
  VALIDATION_FAILED: {
    properties: {
      field: { type: 'string', description: 'The offending field, e.g. `transfers[2].amount`' },
      index: integer(0),
      errors: { type: 'array', items: { type: 'string' }, description: 'Every rule the body breaks' },
    },
  },
  CONFLICT: { properties: { attempts: integer(1) } },
  SHARD_NOT_FOUND: { properties: { field: { type: 'string', description: '`ledger`, `shop` or `namespace`' } }, required: ['field'] },
  STORE_CORRUPTED: { properties: { key: { type: 'string' }, command: integer(0) } },
};

/** A batch item's or an order line's position. */
export const INDEX_DETAIL: SchemaDoc = { type: 'integer', minimum: 0, description: 'The failing item\'s position' };

function codeSchema(status: number, code: string, details: ErrorDetailsDoc = {}): SchemaDoc {
  return {
    type: 'object',
    required: ['statusCode', 'code', 'message', ...(details.required ?? [])],
    properties: {
      statusCode: { type: 'integer', enum: [status] },
      code: { type: 'string', enum: [code] },
      message: { type: 'string' },
      ...details.properties,
    },
    additionalProperties: false,
  };
}

/**
 * The error body every route answers with (see AtomicErrorFilter): `{statusCode, code, message, …details}`, one
 * schema per code (the `code` is what clients branch on).
 */
export function errorSchema(status: number, codes: readonly string[], details: ErrorDetails = {}): SchemaDoc {
  const schemas = codes.map((code) => codeSchema(status, code, { ...KERNEL_ERROR_DETAILS, ...details }[code]));
  return schemas.length === 1 ? schemas[0] : { oneOf: schemas };
}

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';

/** Codes a write route can answer besides its own: the Idempotency-Key's and optimistic retries'. */
const WRITE_CODES = ['CONFLICT', 'IDEMPOTENCY_KEY_MISMATCH', 'IDEMPOTENCY_KEY_IN_PROGRESS'] as const;
/** Codes of any route that asks the store. */
const STORE_CODES = ['STORE_CORRUPTED', 'STORE_UNAVAILABLE', 'OUTCOME_UNKNOWN'] as const;
/** The platform's answers to any request with a body (a POST or PUT): too large, not JSON. */
const BODY_CODES = ['PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;
const PLATFORM_STATUS: ErrorStatuses = Object.fromEntries(Object.entries(HTTP_STATUS_CODE).map(([status, code]) => [code, Number(status)]));

export interface AtomicRouteDoc<T extends ErrorStatuses> {
  summary: string;
  description?: string;
  /**
   * The answers other than errors: a body class or schema, or none (e.g. a 204). A JSON body unless
   * `contentType` names another media type (e.g. `text/plain; version=0.0.4` with a string schema).
   */
  responses: { status: number; type?: Type<unknown>; schema?: SchemaDoc; contentType?: string; description: string }[];
  /** The JSON body's DTO class (read with `@AtomicBody()`, which swagger cannot see). */
  body?: Type<unknown>;
  /** The module's error table (code → status) and the codes of it this route can answer. */
  statuses?: T;
  /** The details each of the module's codes carries. */
  details?: ErrorDetails;
  codes?: readonly Extract<keyof T, string>[];
  /**
   * A write (POST/PUT): takes the Idempotency-Key header; every answer may be a replay (`Idempotent-Replayed`);
   * adds CONFLICT, IDEMPOTENCY_KEY_MISMATCH/IN_PROGRESS and the platform's 413/415.
   */
  write?: boolean;
  /** Asks the store (default true): STORE_CORRUPTED, STORE_UNAVAILABLE, OUTCOME_UNKNOWN. */
  store?: boolean;
  /** Checks its input (default true): VALIDATION_FAILED. */
  validates?: boolean;
}

/** Every code a route documented by `doc` can answer, in table order. */
export function routeErrorCodes<T extends ErrorStatuses>(doc: AtomicRouteDoc<T>): string[] {
  return [
    ...(doc.validates === false ? [] : ['VALIDATION_FAILED']),
    ...(doc.codes ?? []),
    ...(doc.write ? WRITE_CODES : []),
    ...(doc.store === false ? [] : STORE_CODES),
    ...(doc.write ? BODY_CODES : []),
  ];
}

/**
 * Documents one route: summary, success bodies, the `code`s of each error status (statuses looked up in the
 * module's table, the kernel's and the platform's — never retyped), and for writes the Idempotency-Key request
 * header and the Idempotent-Replayed response header.
 */
export function ApiAtomicRoute<T extends ErrorStatuses>(doc: AtomicRouteDoc<T>): MethodDecorator {
  if (!swagger) return noop;
  const statuses: ErrorStatuses = { ...PLATFORM_STATUS, ...KERNEL_ERROR_STATUS, ...doc.statuses };
  const byStatus = new Map<number, string[]>();
  for (const code of routeErrorCodes(doc)) {
    const status = statuses[code];
    if (status === undefined) throw new Error(`ApiAtomicRoute: no status for ${code}`);
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  // What a replay can answer: a stored result, a stored business rejection (the module's codes), or an unreadable
  // record (STORE_CORRUPTED). Validation failures, the platform's 413/415 and 503s are never stored.
  const replayable = new Set([...doc.responses.map((r) => r.status), ...(doc.codes ?? []).map((c) => statuses[c]), statuses.STORE_CORRUPTED]);
  const headersOf = (status: number) => (doc.write && replayable.has(status)
    ? {
      [REPLAYED_HEADER]: {
        description: `\`true\` when this answer replays the outcome first stored under the request's ${IDEMPOTENCY_KEY_HEADER}`,
        required: false,
        schema: { type: 'string', enum: ['true'] },
      },
    }
    : undefined);
  const decorators = [
    swagger.ApiOperation({ summary: doc.summary, description: doc.description }),
    ...doc.responses.map((r) => swagger!.ApiResponse({
      status: r.status, description: r.description, headers: headersOf(r.status),
      ...(r.contentType ? { content: { [r.contentType]: { schema: (r.schema ?? { type: 'string' }) as never } } }
        : r.schema ? { schema: r.schema as never } : { type: r.type }),
    })),
    ...[...byStatus].sort(([a], [b]) => a - b).map(([status, codes]) => swagger!.ApiResponse({
      status,
      description: codes.map((c) => `\`${c}\``).join(' · '),
      schema: errorSchema(status, codes, doc.details) as never,
      headers: headersOf(status),
    })),
  ];
  if (doc.body) decorators.push(swagger.ApiBody({ type: doc.body, required: true }));
  if (doc.write) {
    decorators.push(swagger.ApiHeader({
      // The name as the handlers read it (`@Headers('idempotency-key')`), so swagger merges the two into one.
      name: IDEMPOTENCY_KEY_HEADER.toLowerCase(),
      required: false,
      description: 'Retry safely: the first outcome under this key (result or business error) is stored in the same atomic step ' +
        'as the effect and replayed to every retry; the same key with another request is `IDEMPOTENCY_KEY_MISMATCH`. ' +
        '1–255 printable ASCII characters.',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: IDEMPOTENCY_KEY_PATTERN.source },
    }));
  }
  return applyDecorators(...decorators);
}

