import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Lua libraries cannot share code, so every library that writes idempotency records carries its own copy of the
 * `idempotent(…)` wrapper (replay, outcome, idempotent). The copies must stay identical: a record written by one
 * library's function is read by the TypeScript side with one decoder (libs/redis-atomic/src/idempotency.ts).
 */
const LIBRARIES = ['accounts', 'inventory', 'orders', 'kv'];

/** The wrapper's code: from `local function replay(` to the end of `local function idempotent(`. */
function wrapper(library: string): string {
  const source = readFileSync(join(__dirname, '..', '..', 'lua', `${library}.lua`), 'utf8');
  const match = /\nlocal function replay\(record, fingerprint\)\n[\s\S]*?\nlocal function idempotent\(operation\)\n[\s\S]*?\n {2}end\nend\n/.exec(source);
  if (!match) throw new Error(`lua/${library}.lua has no idempotency wrapper`);
  return match[0];
}

describe('the idempotency wrapper of the Lua libraries', () => {
  it.each(LIBRARIES.slice(1))('lua/%s.lua carries the same code as lua/accounts.lua', (library) => {
    expect(wrapper(library)).toBe(wrapper('accounts'));
    expect(wrapper(library)).toContain("redis.call('SET', record_key, fingerprint .. '|' .. outcome(reply), 'EX', args[2])");
  });

  it.each(LIBRARIES)('lua/%s.lua wraps every function that writes', (library) => {
    const source = readFileSync(join(__dirname, '..', '..', 'lua', `${library}.lua`), 'utf8');
    const writers = [...source.matchAll(/^redis\.register_function\('(\w+)', (.*)\)$/gm)];
    expect(writers.length).toBeGreaterThan(0);
    for (const [, name, callback] of writers) expect({ name, callback }).toEqual({ name, callback: expect.stringMatching(/^idempotent\(\w+\)$/) });
  });
});
