import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { findLuaDir } from './functions';
import { assembleLibrary, libraryNames } from './lua-source';

/**
 * `npm run lua:bundle [-- --out=<dir>]`: writes every assembled library (lua/<name>.lua + its lua/include/
 * files, version substituted) to `<dir>/<name>.lua` — exactly the text the service loads — and
 * `<dir>/versions.json` ({ name: version }). For operators and deploy tooling whose service user may not run
 * FUNCTION LOAD:  redis-cli -x FUNCTION LOAD REPLACE < dist/functions/accounts.lua
 * Default <dir>: dist/functions (not "lua": the loader looks for the nearest lua/ folder of sources).
 */
export function bundleLibraries(luaDir: string, outDir: string): Record<string, string> {
  mkdirSync(outDir, { recursive: true });
  const versions: Record<string, string> = {};
  for (const name of libraryNames(luaDir)) {
    const library = assembleLibrary(name, luaDir);
    writeFileSync(join(outDir, `${name}.lua`), library.source);
    versions[name] = library.version;
  }
  writeFileSync(join(outDir, 'versions.json'), `${JSON.stringify(versions, null, 2)}\n`);
  return versions;
}

if (require.main === module) {
  const root = dirname(findLuaDir()); // the package's root, from the sources (ts-node) or the build alike
  const out = process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length) ?? join(root, 'dist', 'functions');
  const versions = bundleLibraries(join(root, 'lua'), resolve(out));
  for (const [name, version] of Object.entries(versions)) console.log(`${join(out, `${name}.lua`)}  ${name} ${version}`);
}
