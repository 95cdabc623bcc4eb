import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Layer rules, checked rather than hoped for (the hexagon of design.md):
 * - Redis stays in adapters, module wiring and libs/: ports, rules, DTOs and controllers never import ioredis;
 * - libs/ (the kernel) knows no domain: it never imports from src/;
 * - a port file imports nothing at all (no Redis types, no framework).
 */
const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const imports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);

const rel = (file: string) => relative(root, file);

describe('architecture', () => {
  const src = sourceFiles(join(root, 'src'));
  const libs = sourceFiles(join(root, 'libs'));

  it('finds the files it checks', () => {
    expect(src.some((f) => f.endsWith('accounts.port.ts'))).toBe(true);
    expect(libs.some((f) => f.endsWith('transactions.ts'))).toBe(true);
  });

  it('keeps ioredis out of ports, rules, DTOs and controllers', () => {
    const allowed = (f: string) => /\/adapters\/|\.module\.ts$|\/health\//.test(rel(f));
    const offenders = src.filter((f) => !allowed(f) && imports(f).some((i) => i === 'ioredis'));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('keeps the kernel free of domain code', () => {
    const offenders = libs.filter((f) => imports(f).some((i) => /(^|\/)src\//.test(i) && !i.startsWith('.')) ||
      imports(f).some((i) => i.startsWith('.') && !join(f, '..', i).startsWith(join(root, 'libs'))));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('keeps port files free of imports', () => {
    const ports = src.filter((f) => f.endsWith('.port.ts'));
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect({ port: rel(port), imports: imports(port) }).toEqual({ port: rel(port), imports: [] });
  });

  it('lets Orders build on Inventory (its key schema and stock), never the reverse', () => {
    const inventory = src.filter((f) => rel(f).startsWith('src/inventory/'));
    expect(inventory.length).toBeGreaterThan(0);
    const offenders = inventory.filter((f) => imports(f).some((i) => join(f, '..', i).startsWith(join(root, 'src', 'orders'))));
    expect(offenders.map(rel)).toEqual([]);
    expect(imports(join(root, 'src', 'orders', 'keys.ts'))).toContain('../inventory/keys');
  });

  it('keeps the conditional store (kv) domain-neutral: it imports no other domain module, and none imports it', () => {
    const inKv = (f: string) => rel(f).startsWith('src/kv/');
    const domain = (f: string, i: string) => i.startsWith('.') && /\/src\/(accounts|inventory|orders)\//.test(join(f, '..', i) + '/');
    expect(src.filter(inKv).length).toBeGreaterThan(0);
    expect(src.filter((f) => inKv(f) && imports(f).some((i) => domain(f, i))).map(rel)).toEqual([]);
    const toKv = (f: string, i: string) => i.startsWith('.') && join(f, '..', i).startsWith(join(root, 'src', 'kv'));
    const offenders = src.filter((f) => !inKv(f) && !rel(f).endsWith('app.module.ts') && imports(f).some((i) => toKv(f, i)));
    expect(offenders.map(rel)).toEqual([]);
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
