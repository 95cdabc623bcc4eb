import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Lua libraries are assembled at load time: a library body `lua/<name>.lua` names the shared prelude files it
 * needs with lines `--- @include <file>` (files of `lua/include/`, without `.lua`), and each such line is
 * replaced by that file's text. Redis cannot share code between libraries, so every library carries its own
 * copy of the prelude, but the source tree holds one.
 *
 * The library version is a hash of the assembled source: the body declares
 * `local LIBRARY_VERSION = '{{version}}'`, the placeholder is replaced by the first 16 hex digits of the
 * SHA-256 of the assembled text (placeholder still in place). Any change to the body or to an included file
 * changes the version, so a server can never hold a stale library under the current version.
 */
export const VERSION_PLACEHOLDER = '{{version}}';
const INCLUDE = /^--- @include ([a-z0-9_-]+)[ \t]*$/gm;

export interface AssembledLibrary {
  name: string;
  /** The loadable text (`FUNCTION LOAD REPLACE <source>`), version substituted. */
  source: string;
  version: string;
  /** The prelude files it includes, in order. */
  includes: string[];
}

/** Assembles `body` (the text of `lua/<name>.lua`) with the prelude files `readInclude` returns. */
export function assembleSource(name: string, body: string, readInclude: (file: string) => string): AssembledLibrary {
  const header = /^#!lua name=(\w+)\n/.exec(body);
  if (header?.[1] !== name) throw new Error(`Lua library ${name}: must start with "#!lua name=${name}"`);
  const includes: string[] = [];
  const assembled = body.replace(INCLUDE, (_, file: string) => {
    if (includes.includes(file)) throw new Error(`Lua library ${name}: includes ${file} twice`);
    includes.push(file);
    const text = readInclude(file).replace(/\n*$/, '\n');
    if (/^--- @include /m.test(text)) throw new Error(`lua/include/${file}.lua: includes do not nest`);
    return `-- ▼ lua/include/${file}.lua\n${text}-- ▲ lua/include/${file}.lua`;
  });
  if (!assembled.includes(`LIBRARY_VERSION = '${VERSION_PLACEHOLDER}'`)) {
    // Already assembled (a bundle) or a hand-written test library: taken as is, its declared version kept.
    const declared = /LIBRARY_VERSION\s*=\s*'([^']+)'/.exec(assembled)?.[1];
    if (!declared) throw new Error(`Lua library ${name}: declares no LIBRARY_VERSION`);
    return { name, source: assembled, version: declared, includes };
  }
  const version = libraryVersion(assembled);
  return { name, source: assembled.split(VERSION_PLACEHOLDER).join(version), version, includes };
}

/** The version of an assembled source whose placeholder is still in place. */
export const libraryVersion = (assembled: string): string =>
  createHash('sha256').update(assembled).digest('hex').slice(0, 16);

/** Reads `<luaDir>/<name>.lua` and its includes from `<luaDir>/include/`. */
export function assembleLibrary(name: string, luaDir: string): AssembledLibrary {
  const body = readFileSync(join(luaDir, `${name}.lua`), 'utf8');
  return assembleSource(name, body, (file) => readFileSync(join(luaDir, 'include', `${file}.lua`), 'utf8'));
}

/** The library names of `luaDir`: every `<name>.lua` directly in it (the prelude lives in `include/`). */
export const libraryNames = (luaDir: string): string[] =>
  readdirSync(luaDir).filter((file) => file.endsWith('.lua')).map((file) => file.slice(0, -'.lua'.length)).sort();
