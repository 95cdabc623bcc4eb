import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LoadResult } from './measure';

/** One line of the results table. */
export interface Row {
  scenario: string;
  name: string;
  opsPerSec?: number;
  p50Ms?: number;
  p99Ms?: number;
  /** Short human text for the table (conflicts, server µs/call, …). */
  note?: string;
  /** Everything else worth keeping, for the JSON. */
  data?: Record<string, unknown>;
}

/** A ratio (or a bound) with its target. `value op target` must hold to PASS; a MISS never fails the run. */
export interface Target {
  scenario: string;
  name: string;
  value: number;
  op: '>=' | '<=' | '<';
  target: number;
  unit: string;
  pass: boolean;
  detail?: string;
}

export class Report {
  readonly rows: Row[] = [];
  readonly targets: Target[] = [];

  row(row: Row): Row {
    this.rows.push(row);
    console.log(`  ${row.scenario.padEnd(11)} ${row.name.padEnd(44)} ${fmtOps(row.opsPerSec).padStart(10)} ` +
      `${fmtMs(row.p50Ms).padStart(8)} ${fmtMs(row.p99Ms).padStart(8)}  ${row.note ?? ''}`);
    return row;
  }

  load(scenario: string, name: string, result: LoadResult, note = '', data: Record<string, unknown> = {}): Row {
    const failures = Object.entries(result.errors).map(([code, n]) => `${code} ${n}`).join(', ');
    return this.row({
      scenario,
      name,
      opsPerSec: result.opsPerSec,
      p50Ms: result.p50Ms,
      p99Ms: result.p99Ms,
      note: [note, failures && `failed: ${failures}`].filter(Boolean).join(' · '),
      data: { ...result, ...data },
    });
  }

  target(t: Omit<Target, 'pass'>): Target {
    const pass = Number.isFinite(t.value) &&
      (t.op === '>=' ? t.value >= t.target : t.op === '<=' ? t.value <= t.target : t.value < t.target);
    const target = { ...t, pass };
    this.targets.push(target);
    console.log(`  → ${pass ? 'PASS' : 'MISS'} ${t.name}: ${fmtValue(t.value, t.unit)} (target ${t.op} ${fmtValue(t.target, t.unit)})` +
      (t.detail ? ` — ${t.detail}` : ''));
    return target;
  }

  table(): string {
    const header = ['scenario', 'name', 'ops/s', 'p50 ms', 'p99 ms', 'notes'];
    const lines = this.rows.map((r) => [r.scenario, r.name, fmtOps(r.opsPerSec), fmtMs(r.p50Ms), fmtMs(r.p99Ms), r.note ?? '']);
    const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (i === 5 ? 0 : l[i].length))));
    const render = (cells: string[]) => cells.map((c, i) => (i === 5 ? c : i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ').trimEnd();
    const targetLines = this.targets.map((t) => `${t.pass ? 'PASS' : 'MISS'}  ${t.scenario.padEnd(10)} ${t.name}: ` +
      `${fmtValue(t.value, t.unit)} (target ${t.op} ${fmtValue(t.target, t.unit)})${t.detail ? ` — ${t.detail}` : ''}`);
    return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render), '',
      `Targets (${this.targets.filter((t) => t.pass).length}/${this.targets.length} pass):`, ...targetLines].join('\n');
  }

  writeJson(path: string, meta: Record<string, unknown>): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify({ ...meta, targets: this.targets, rows: this.rows }, null, 2) + '\n');
  }

  writeSvg(path: string, title: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, svgChart(title, this.targets, this.rows));
  }
}

export const fmtOps = (v?: number) => (v === undefined || !Number.isFinite(v) ? '' : Math.round(v).toLocaleString('en-US'));
export const fmtMs = (v?: number) => (v === undefined || !Number.isFinite(v) ? '' : v < 10 ? v.toFixed(2) : v.toFixed(1));
export const fmtValue = (v: number, unit: string) =>
  !Number.isFinite(v) ? 'n/a' : `${v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2)}${unit === 'x' ? '×' : ` ${unit}`}`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Hand-written SVG. Top: every target as a bar of its margin (value/target for ≥, target/value for ≤), with
 * the target at 1.0 — green bars pass, red ones miss. Bottom: goodput of the strategies rows (transfers, opens)
 * and of the orders rows (place).
 */
function svgChart(title: string, targets: Target[], rows: Row[]): string {
  const width = 1150;
  const labelW = 430;
  const barMax = width - labelW - 280;
  const scaleMax = 2; // margins are drawn up to 2× the target; beyond, the bar is clipped and marked
  const rowH = 24;
  const out: string[] = [];
  let y = 40;
  out.push(`<text x="20" y="26" font-size="18" font-weight="bold">${esc(title)}</text>`);
  out.push(`<text x="${labelW}" y="${y}" font-size="12" fill="#555">margin vs target (1.0 = exactly on target; bars clipped at ${scaleMax}×)</text>`);
  y += 12;
  const top = y;
  for (const t of targets) {
    const margin = t.op === '>=' ? t.value / t.target : t.target / t.value;
    const w = Number.isFinite(margin) ? Math.min(margin, scaleMax) / scaleMax * barMax : 0;
    out.push(`<text x="${labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(`${t.scenario}: ${t.name}`)}</text>`);
    out.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${t.pass ? '#3a9a4a' : '#d04a3a'}"/>`);
    out.push(`<text x="${labelW + w + 6}" y="${y + 16}" font-size="12">${esc(`${fmtValue(t.value, t.unit)} (${t.op} ${fmtValue(t.target, t.unit)}) ${t.pass ? 'PASS' : 'MISS'}`)}</text>`);
    y += rowH;
  }
  const oneX = labelW + barMax / scaleMax;
  out.push(`<line x1="${oneX}" y1="${top}" x2="${oneX}" y2="${y}" stroke="#000" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${oneX}" y="${y + 14}" font-size="11" text-anchor="middle">target</text>`);

  const sections = [
    { scenario: 'strategies', title: 'Strategies: goodput (ops/s, successful operations)' },
    { scenario: 'orders', title: 'Orders: place goodput (ops/s; many = 1,000 products, hot = one product)' },
  ];
  for (const section of sections) {
    const sectionRows = rows.filter((r) => r.scenario === section.scenario && r.opsPerSec !== undefined);
    if (!sectionRows.length) continue;
    y += 44;
    out.push(`<text x="20" y="${y}" font-size="16" font-weight="bold">${esc(section.title)}</text>`);
    y += 10;
    // Scaled to the Redis strategies; the in-process memory strategy is clipped (its bar ends in a notch).
    const redisRows = sectionRows.filter((r) => !r.name.includes('memory'));
    const max = Math.max(...(redisRows.length ? redisRows : sectionRows).map((r) => r.opsPerSec!));
    for (const r of sectionRows) {
      const w = Math.min(1, r.opsPerSec! / max) * barMax;
      const color = r.name.includes('memory') ? '#999' : r.name.includes('functions') ? '#3a6ad0' : '#d08a3a';
      out.push(`<text x="${labelW - 8}" y="${y + 16}" font-size="12" text-anchor="end">${esc(r.name)}</text>`);
      out.push(`<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${color}"/>`);
      if (r.opsPerSec! > max) out.push(`<rect x="${labelW + w - 10}" y="${y + 4}" width="3" height="${rowH - 8}" fill="#fff"/>`);
      out.push(`<text x="${labelW + w + 6}" y="${y + 16}" font-size="12">${esc(`${fmtOps(r.opsPerSec)} · p99 ${fmtMs(r.p99Ms)} ms`)}</text>`);
      y += rowH;
    }
  }
  const height = y + 30;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="Helvetica, Arial, sans-serif">\n<rect width="100%" height="100%" fill="#fff"/>\n${out.join('\n')}\n</svg>\n`;
}
