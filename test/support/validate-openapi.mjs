// Validates an OpenAPI document (a file path, argv[2]) against the OpenAPI schema of its version and prints
// `{ valid, version, errors }` as JSON. A script of its own: the validator ships as ES modules only, which jest's
// CommonJS runtime cannot load (test/e2e/openapi.e2e.spec.ts runs it with node).
import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';

const validator = new Validator();
const result = await validator.validate(JSON.parse(await readFile(process.argv[2], 'utf8')));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
