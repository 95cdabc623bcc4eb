import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { FunctionLibrary } from '@kernel/redis';
import { bundleLibraries } from '@kernel/redis/lua-bundle';
import { assembleLibrary, assembleSource, libraryNames, VERSION_PLACEHOLDER } from '@kernel/redis';

/**
 * The Lua libraries are assembled at load time from lua/include/*.lua (the prelude) and their body lua/<name>.lua;
 * the version is a hash of the assembled text. These tests hold the mechanism to its promises.
 */
const LUA = join(__dirname, '..', '..', 'lua');
const LIBRARIES = ['accounts', 'escrow', 'inventory', 'kv', 'orders'];
/**
 * lua/escrow.lua (cross-shard transfers) takes no idempotency wrapper: each of its functions is idempotent per txid,
 * its replay stored in the same keys as its effect (the done marker, the transaction record), so a second record
 * would only repeat them. Its functions validate their own arguments first, as the wrapper's checks do.
 */
const UNWRAPPED = new Set(['escrow']);
/** Helpers only the prelude may define: a body defining one would be a second copy. */
const PRELUDE_ONLY = ['encode', 'fail', 'corrupted', 'signal', 'safe_integer', 'int_text', 'check_type', 'append_event', 'invalid',
  'id_arg', 'int_arg', 'optional_int_arg', 'arity', 'keys_ok', 'replay', 'outcome', 'idempotent', 'read_stock'];

describe('Lua libraries assembled from the prelude', () => {
  it('finds exactly the five libraries', () => {
    expect(libraryNames(LUA)).toEqual(LIBRARIES);
  });

  it.each(LIBRARIES)('lua/%s.lua includes the shared prelude and defines none of its helpers itself', (name) => {
    const body = readFileSync(join(LUA, `${name}.lua`), 'utf8');
    const library = assembleLibrary(name, LUA);
    expect(library.includes.slice(0, 3)).toEqual(UNWRAPPED.has(name) ? ['core', 'args', expect.any(String)] : ['core', 'args', 'idempotency']);
    if (name === 'inventory' || name === 'orders') expect(library.includes).toContain('stock');
    for (const helper of PRELUDE_ONLY) expect(body).not.toMatch(new RegExp(`local function ${helper}\\(`));
    // Every prelude helper is defined exactly once in the assembled text, wherever it is included.
    for (const file of library.includes) {
      const text = readFileSync(join(LUA, 'include', `${file}.lua`), 'utf8');
      expect(library.source).toContain(text.trimEnd());
    }
    expect(library.source).not.toContain('--- @include');
    expect(library.source).not.toContain(VERSION_PLACEHOLDER);
    expect(library.source.startsWith(`#!lua name=${name}\n`)).toBe(true);
    expect(library.version).toMatch(/^[0-9a-f]{16}$/);
    expect(library.source).toContain(`local LIBRARY_VERSION = '${library.version}'`);
  });

  it.each(LIBRARIES.filter((l) => !UNWRAPPED.has(l)))('lua/%s.lua wraps every write function with its argument check', (name) => {
    const body = readFileSync(join(LUA, `${name}.lua`), 'utf8');
    const writers = [...body.matchAll(/^redis\.register_function\('(\w+)', (.*)\)$/gm)];
    expect(writers.length).toBeGreaterThan(0);
    for (const [, fn, callback] of writers) {
      expect({ fn, callback }).toEqual({ fn, callback: expect.stringMatching(/^idempotent\([\w(', .)]+, \w+(\([^)]*\))?\)$/) });
    }
  });

  it('keeps every Lua source file at about 300 lines or fewer', () => {
    const files = [...readdirSync(LUA).filter((f) => f.endsWith('.lua')),
      ...readdirSync(join(LUA, 'include')).map((f) => join('include', f))];
    const long = files.map((f) => [f, readFileSync(join(LUA, f), 'utf8').split('\n').length] as const).filter(([, n]) => n > 330);
    expect(long).toEqual([]);
  });

  it('bundles exactly the text the loader assembles (npm run lua:bundle)', () => {
    const out = mkdtempSync(join(tmpdir(), 'lua-bundle-'));
    try {
      const versions = bundleLibraries(LUA, out);
      expect(Object.keys(versions)).toEqual(LIBRARIES);
      expect(JSON.parse(readFileSync(join(out, 'versions.json'), 'utf8'))).toEqual(versions);
      for (const name of LIBRARIES) {
        const loaded = FunctionLibrary.fromFile({} as Redis, name, LUA);
        const bundled = readFileSync(join(out, `${name}.lua`), 'utf8');
        expect(bundled).toBe(assembleLibrary(name, LUA).source);
        expect(loaded.version).toBe(versions[name]);
        // A folder of bundles loads as is, under the same version.
        expect(FunctionLibrary.fromFile({} as Redis, name, out).version).toBe(versions[name]);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('changes the version of exactly the libraries whose assembled source changed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lua-src-'));
    try {
      cpSync(LUA, dir, { recursive: true });
      const versions = () => Object.fromEntries(LIBRARIES.map((name) => [name, assembleLibrary(name, dir).version]));
      const before = versions();
      expect(new Set(Object.values(before)).size).toBe(LIBRARIES.length);

      writeFileSync(join(dir, 'kv.lua'), `${readFileSync(join(dir, 'kv.lua'), 'utf8')}-- a comment\n`);
      const afterBody = versions();
      expect(afterBody.kv).not.toBe(before.kv);
      expect({ ...afterBody, kv: before.kv }).toEqual(before);

      writeFileSync(join(dir, 'include', 'stock.lua'), `${readFileSync(join(dir, 'include', 'stock.lua'), 'utf8')}-- changed\n`);
      const afterStock = versions();
      expect(afterStock.inventory).not.toBe(afterBody.inventory);
      expect(afterStock.orders).not.toBe(afterBody.orders);
      expect([afterStock.accounts, afterStock.kv]).toEqual([afterBody.accounts, afterBody.kv]);

      writeFileSync(join(dir, 'include', 'core.lua'), `${readFileSync(join(dir, 'include', 'core.lua'), 'utf8')}-- changed\n`);
      const afterCore = versions();
      for (const name of LIBRARIES) expect(afterCore[name]).not.toBe(afterStock[name]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a body without its header, an unknown include, or one included twice', () => {
    const read = (file: string) => (file === 'x' ? 'local X = 1\n' : (() => { throw new Error(`no ${file}`); })());
    const ok = `#!lua name=t\nlocal LIBRARY_VERSION = '${VERSION_PLACEHOLDER}'\n--- @include x\n`;
    expect(assembleSource('t', ok, read).source).toContain('local X = 1');
    expect(() => assembleSource('u', ok, read)).toThrow(/must start with/);
    expect(() => assembleSource('t', `${ok}--- @include y\n`, read)).toThrow(/no y/);
    expect(() => assembleSource('t', `${ok}--- @include x\n`, read)).toThrow(/twice/);
  });
});
