import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Layer rules, checked on the TRANSITIVE import closure of every file (a barrel cannot smuggle ioredis in):
 * - ports, rules, DTOs, controllers, validation gates and key schemas never reach ioredis;
 * - the kernel's core reaches neither ioredis nor Nest; memory reaches no ioredis; nest/http reaches no ioredis;
 * - libs/ (the kernel) knows no domain: it never imports from src/;
 * - a port file imports nothing at all;
 * - bounded contexts (accounts, shop, kv, events) import each other never; inside the shop, Orders builds on
 *   Inventory, never the reverse;
 * - the board is a composition context (src/board: an operator's view over every context): it may read the others,
 *   but only through their published surface — ports, tokens, error tables, and the ledger audit — never their
 *   adapters, key schemas, rules or modules; and no context imports the board.
 */
const root = join(__dirname, '..', '..');
const kernel = join(root, 'libs', 'redis-atomic', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

const specifiers = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);

/** A file path for a project import, or the package name for a dependency (`@nestjs/common`, `ioredis`…). */
function resolveImport(from: string, specifier: string): string {
  let base: string;
  if (specifier === '@kernel' || specifier.startsWith('@kernel/')) base = join(kernel, specifier.slice('@kernel'.length));
  else if (specifier.startsWith('.')) base = join(dirname(from), specifier);
  else return specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) if (existsSync(candidate)) return candidate;
  throw new Error(`${rel(from)}: cannot resolve ${specifier}`);
}

const closures = new Map<string, Set<string>>();
/** Every file and package reachable from `file` through imports and re-exports. */
function closure(file: string): Set<string> {
  const known = closures.get(file);
  if (known) return known;
  const reached = new Set<string>();
  closures.set(file, reached); // cycles end here
  for (const specifier of specifiers(file)) {
    const target = resolveImport(file, specifier);
    reached.add(target);
    if (target.endsWith('.ts')) for (const t of closure(target)) reached.add(t);
  }
  return reached;
}

const rel = (file: string) => relative(root, file);
const reaches = (file: string, target: string) => closure(file).has(target);

describe('architecture', () => {
  const src = sourceFiles(join(root, 'src'));
  const libs = sourceFiles(join(root, 'libs'));
  const inSrc = (prefix: string) => src.filter((f) => rel(f).startsWith(`src/${prefix}/`));

  it('finds the files it checks, and sees through barrels (control: the whole kernel barrel reaches ioredis)', () => {
    expect(src.some((f) => f.endsWith('accounts.port.ts'))).toBe(true);
    expect(libs.some((f) => f.endsWith('transactions.ts'))).toBe(true);
    expect(reaches(join(kernel, 'index.ts'), 'ioredis')).toBe(true);
    expect(reaches(join(kernel, 'nest', 'index.ts'), 'ioredis')).toBe(true);
    expect(closure(join(root, 'src', 'index.ts')).has(join(kernel, 'redis', 'transactions.ts'))).toBe(true);
  });

  it('keeps ioredis out of ports, rules, DTOs, controllers, gates and key schemas, even through a barrel', () => {
    const wiring = (f: string) => /\/adapters\/|\.module\.ts$|^src\/(health|main|bootstrap|cli|index|serve)/.test(rel(f));
    const checked = src.filter((f) => !wiring(f));
    expect(checked.length).toBeGreaterThan(30);
    expect(checked.filter((f) => reaches(f, 'ioredis')).map(rel)).toEqual([]);
  });

  it('keeps the kernel layers apart: core knows no ioredis and no Nest; memory and nest/http no ioredis', () => {
    const layer = (name: string) => libs.filter((f) => rel(f).startsWith(`libs/redis-atomic/src/${name}/`));
    expect(layer('core').filter((f) => reaches(f, 'ioredis') || reaches(f, '@nestjs/common')).map(rel)).toEqual([]);
    expect(layer('memory').filter((f) => reaches(f, 'ioredis') || reaches(f, '@nestjs/common')).map(rel)).toEqual([]);
    expect(layer('nest/http').filter((f) => reaches(f, 'ioredis')).map(rel)).toEqual([]);
    expect(layer('redis').filter((f) => reaches(f, '@nestjs/common')).map(rel)).toEqual([]);
  });

  it('keeps the kernel free of domain code', () => {
    const offenders = libs.filter((f) => [...closure(f)].some((t) => t.startsWith(join(root, 'src'))));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('keeps swagger out of ports and rules, and optional: only the service\'s src/openapi.ts imports it', () => {
    const docs = join(kernel, 'nest', 'http', 'api-docs.ts');
    const portsAndRules = src.filter((f) => /\.port\.ts$|-rules\.ts$/.test(f));
    expect(portsAndRules.length).toBeGreaterThan(8);
    expect(portsAndRules.filter((f) => reaches(f, docs) || reaches(f, '@nestjs/swagger')).map(rel)).toEqual([]);
    expect(reaches(docs, 'ioredis')).toBe(false);
    // DTOs and controllers document themselves through the kernel's decorators, which load @nestjs/swagger only
    // when it is installed: a static import anywhere else would make it a hard dependency of every module.
    expect(reaches(join(root, 'src', 'accounts', 'dto', 'transfer.dto.ts'), docs)).toBe(true);
    expect([...src, ...libs].filter((f) => specifiers(f).includes('@nestjs/swagger')).map(rel)).toEqual(['src/openapi.ts']);
  });

  it('keeps port files free of imports', () => {
    const ports = src.filter((f) => f.endsWith('.port.ts'));
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect({ port: rel(port), imports: specifiers(port) }).toEqual({ port: rel(port), imports: [] });
  });

  it('keeps bounded contexts apart: accounts, shop, kv and events import none of each other', () => {
    const contexts = ['accounts', 'shop', 'kv', 'events'];
    for (const context of contexts) {
      const files = inSrc(context);
      expect(files.length).toBeGreaterThan(0);
      const others = contexts.filter((c) => c !== context).map((c) => join(root, 'src', c) + '/');
      const offenders = files.filter((f) => [...closure(f)].some((t) => others.some((o) => t.startsWith(o))));
      expect({ context, offenders: offenders.map(rel) }).toEqual({ context, offenders: [] });
    }
  });

  it('lets the board read the contexts only through their ports, tokens, error tables and the audit; none imports the board', () => {
    const board = inSrc('board');
    expect(board.length).toBeGreaterThan(5);
    const contexts = ['accounts', 'shop', 'kv', 'events'].map((c) => join(root, 'src', c) + '/');
    const published = /(\.port|\.tokens|\.errors)\.ts$|\/src\/accounts\/audit\/[^/]+\.ts$/;
    const reached = new Set(board.flatMap((f) => [...closure(f)]).filter((t) => contexts.some((c) => t.startsWith(c))));
    expect([...reached].filter((t) => !published.test(t)).map(rel)).toEqual([]);
    // a control: the board does read other contexts (through their ports), so the rule above is not vacuous
    expect([...reached].map(rel)).toEqual(expect.arrayContaining(['src/accounts/accounts.port.ts', 'src/shop/orders/orders.port.ts', 'src/events/events.port.ts']));
    const boardDir = join(root, 'src', 'board') + '/';
    const importers = contexts.flatMap((c) => src.filter((f) => f.startsWith(c))).filter((f) => [...closure(f)].some((t) => t.startsWith(boardDir)));
    expect(importers.map(rel)).toEqual([]);
  });

  it('lets Orders build on Inventory (one shop, one hash tag), never the reverse', () => {
    const inventory = inSrc('shop/inventory');
    expect(inventory.length).toBeGreaterThan(0);
    const orders = join(root, 'src', 'shop', 'orders') + '/';
    expect(inventory.filter((f) => [...closure(f)].some((t) => t.startsWith(orders))).map(rel)).toEqual([]);
    expect(reaches(join(root, 'src', 'shop', 'orders', 'keys.ts'), join(root, 'src', 'shop', 'inventory', 'keys.ts'))).toBe(true);
  });

  it('prefixes every Lua function with its library name (function names are global in Redis)', () => {
    const dir = join(root, 'lua');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.lua'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      const library = /^#!lua name=(\w+)/.exec(source)?.[1];
      expect(library).toBe(file.replace(/\.lua$/, ''));
      const names = [...source.matchAll(/register_function(?:\{\s*function_name\s*=\s*|\(\s*)'([^']+)'/g)].map((m) => m[1]);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(name.startsWith(`${library}_`)).toBe(true);
    }
  });
});
