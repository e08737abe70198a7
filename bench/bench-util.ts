/** Small helpers for the benchmark scripts: percentiles, a plain-text table, prompts of exact length. */
import type { ModelTokenizer } from '../src/engine/types.js';

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join(
    '\n',
  );
}

export function fmt(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

const WORDS = (
  'orchard apple pear plum river tree branch blossom harvest basket ladder farmer autumn spring ' +
  'rain sun root soil seed leaf bark fence gate path hill valley morning evening market cart ' +
  'sweet sour ripe green red golden row shade bee bird nest wind frost cider jam pie honey'
).split(' ');

/** Exactly `n` token ids of varied text, different for every `seed`. */
export function promptTokens(tok: ModelTokenizer, seed: number, n: number): number[] {
  const out: number[] = [];
  let x = (seed + 1) * 2654435761;
  while (out.length < n) {
    const words: string[] = [];
    for (let i = 0; i < 64; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      words.push(WORDS[x % WORDS.length]);
    }
    out.push(...tok.encode(' ' + words.join(' '), { addSpecialTokens: false }));
  }
  return out.slice(0, n);
}
