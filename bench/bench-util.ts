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

export const WORDS = (
  'orchard apple pear plum river tree branch blossom harvest basket ladder farmer autumn spring ' +
  'rain sun root soil seed leaf bark fence gate path hill valley morning evening market cart ' +
  'sweet sour ripe green red golden row shade bee bird nest wind frost cider jam pie honey'
).split(' ');

/**
 * A word source seeded with `seed`: xorshift32 in exact 32-bit integer arithmetic. (The earlier
 * `(x * 1103515245 + 12345) % 2 ** 31` in doubles lost the low bits of every product, so
 * different seeds fell into one sequence: the shared-prefix benchmark's third system prompt was
 * its warm-up's, and 5 of 64 questions were repeats.)
 */
export function wordSource(seed: number): () => string {
  // An odd multiplier maps distinct seeds to distinct states; 0 would stay 0.
  let x = Math.imul(seed + 1, 0x9e3779b1) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    // The top bits pick the word (xorshift's low bits are its weakest).
    return WORDS[Math.floor((x / 2 ** 32) * WORDS.length)];
  };
}

/** Exactly `n` token ids of varied text, different for every `seed`. */
export function promptTokens(tok: ModelTokenizer, seed: number, n: number): number[] {
  const next = wordSource(seed);
  const out: number[] = [];
  while (out.length < n) {
    const words = Array.from({ length: 64 }, next);
    out.push(...tok.encode(' ' + words.join(' '), { addSpecialTokens: false }));
  }
  return out.slice(0, n);
}
