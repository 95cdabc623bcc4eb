import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * The page and its modules, read once at start: the board's own files (assets/, copied next to the compiled code
 * by `npm run build`) and the two libraries as the browser's ES modules from node_modules — no bundler. Only these
 * names are served: nothing else of either folder is reachable.
 */
export function loadAssets(base: string): Map<string, Asset> {
  const own = join(__dirname, 'assets');
  // preact and htm are optional peers of the package (like prom-client): only the board needs them.
  for (const name of ['preact', 'htm']) {
    try {
      require.resolve(name);
    } catch {
      throw new Error(`BoardModule needs ${name} (the page's modules): npm install preact htm`);
    }
  }
  const js = 'application/javascript; charset=utf-8';
  const assets = new Map<string, Asset>([
    ['index.html', { type: 'text/html; charset=utf-8', body: Buffer.from(readFileSync(join(own, 'index.html'), 'utf8').replaceAll('{{base}}', base)) }],
    ['board.css', { type: 'text/css; charset=utf-8', body: readFileSync(join(own, 'board.css')) }],
    ['board.mjs', { type: js, body: readFileSync(join(own, 'board.mjs')) }],
    ['favicon.svg', { type: 'image/svg+xml', body: readFileSync(join(own, 'favicon.svg')) }],
    ['preact.mjs', { type: js, body: readFileSync(require.resolve('preact')) }],
    // The hooks module imports the bare name "preact": pointed at the file served beside it (no import map, which
    // would need an inline script).
    ['hooks.mjs', { type: js, body: Buffer.from(readFileSync(require.resolve('preact/hooks'), 'utf8').replace(/from\s*"preact"/g, 'from"./preact.mjs"')) }],
    ['htm.mjs', { type: js, body: readFileSync(join(dirname(require.resolve('htm')), 'htm.mjs')) }],
  ]);
  return assets;
}

/** Every board answer carries these: the page runs only its own files, loads nothing from elsewhere, is never framed. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};
