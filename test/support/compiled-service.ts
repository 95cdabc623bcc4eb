import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const KERNEL = join(ROOT, 'libs', 'redis-atomic', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The service's entry point (src/main.ts) compiled to plain JavaScript once per version of the sources, so the
 * tests that start the service as a process start `node <main.js>` in about a second instead of ts-node compiling
 * ~150 files each time (tens of seconds on a loaded 2-core machine). Transpile-only, like `ts-node/register/
 * transpile-only` (the type check is `npm run typecheck`); `@kernel/…` imports rewritten to relative paths, as
 * tsc-alias does in the build. The output lives in the OS temp dir, keyed by a hash of the sources, with
 * node_modules, lua/ and package.json linked from the repository (the Lua folder is found beside package.json).
 */
export function compiledService(): string {
  const files = [...sources(join(ROOT, 'src')), ...sources(join(ROOT, 'libs'))].sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(file).update('\0').update(readFileSync(file)).update('\0');
  hash.update(readFileSync(join(ROOT, 'tsconfig.json'))).update(ROOT); // lua/ and node_modules are linked from ROOT
  const out = join(tmpdir(), `redis-atomic-service-${hash.digest('hex').slice(0, 16)}`);
  const main = join(out, 'src', 'main.js');
  if (existsSync(main)) return main;

  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  const staging = `${out}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  for (const file of files) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { ...options, sourceMap: false, declaration: false, noEmit: false },
      fileName: file,
    });
    const target = join(staging, relative(ROOT, file)).replace(/\.ts$/, '.js');
    const rewritten = outputText.replace(/require\("@kernel(\/[^"]*)?"\)/g, (_, sub: string | undefined) => {
      let path = relative(dirname(file), join(KERNEL, sub ?? '')) || '.';
      if (!path.startsWith('.')) path = `./${path}`;
      return `require("${path}")`;
    });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, rewritten);
  }
  symlinkSync(join(ROOT, 'node_modules'), join(staging, 'node_modules'));
  symlinkSync(join(ROOT, 'lua'), join(staging, 'lua'));
  writeFileSync(join(staging, 'package.json'), readFileSync(join(ROOT, 'package.json')));
  try {
    renameSync(staging, out); // atomic: another jest worker may have finished first
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
  return main;
}
