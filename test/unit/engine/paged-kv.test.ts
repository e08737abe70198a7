import { describe, expect, it } from 'vitest';
import { PagedKv } from '../../../src/engine/paged-kv.js';

// 2 heads of 3 dims, blocks of 4 positions, 12 blocks.
const geometry = { numLayers: 1, numKvHeads: 2, headDim: 3, dtypeBytes: 4 };
const H = 2;
const D = 3;
/** A recognisable value for (position, head, dim). */
const value = (pos: number, h: number, d: number) => 1 + pos * 100 + h * 10 + d;

/** A dense [1, H, count, D] tensor of positions [start, start + count). */
function dense(start: number, count: number): Float32Array {
  const out = new Float32Array(H * count * D);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < count; i++)
      for (let d = 0; d < D; d++) out[(h * count + i) * D + d] = value(start + i, h, d);
  return out;
}

describe('PagedKv (head-major pools)', () => {
  // Consecutive runs (3,4,5 and 9,10) and breaks between them; the last block half full.
  const table = [3, 4, 5, 0, 9, 10, 7];
  const len = 6 * 4 + 2;

  function filled(): PagedKv {
    const kv = new PagedKv(geometry, 12, 4);
    // A prefill chunk, then decode tokens one at a time.
    kv.scatter(kv.keys[0], table, 0, 20, dense(0, 20), 0, 20, 0);
    for (let pos = 20; pos < len; pos++)
      kv.scatter(kv.keys[0], table, pos, 1, dense(pos, 1), 0, 1, 0);
    return kv;
  }

  it('gathers a sequence across runs of consecutive and scattered blocks, left-padded', () => {
    const kv = filled();
    const P = len + 3;
    const out = new Float32Array(2 * H * P * D).fill(NaN);
    kv.gather(kv.keys[0], table, len, out, 1, P);
    for (let h = 0; h < H; h++) {
      const base = (1 * H + h) * P * D;
      for (let d = 0; d < 3 * D; d++) expect(out[base + d]).toBe(0);
      for (let i = 0; i < len; i++)
        for (let d = 0; d < D; d++) expect(out[base + (3 + i) * D + d]).toBe(value(i, h, d));
    }
  });

  it('copies blocks, and reads and writes them for another pool', () => {
    const kv = filled();
    kv.copyBlock(9, 11);
    const moved = [3, 4, 5, 0, 11, 10, 7];
    const a = new Float32Array(H * len * D);
    const b = new Float32Array(H * len * D);
    kv.gather(kv.keys[0], table, len, a, 0, len);
    kv.gather(kv.keys[0], moved, len, b, 0, len);
    expect(b).toEqual(a);
    const other = new PagedKv(geometry, 12, 4);
    const data = kv.readBlocks(table);
    const there = [1, 2, 8, 6, 5, 4, 3];
    there.forEach((block, i) => other.writeBlock(block, data, i));
    const c = new Float32Array(H * len * D);
    other.gather(other.keys[0], there, len, c, 0, len);
    expect(c).toEqual(a);
  });

  it('reads blocks into a spent buffer when it is large enough, else into a new one', () => {
    const kv = filled();
    const fresh = kv.readBlocks(table);
    // Stale contents everywhere: every element must be overwritten.
    const spent = new Float32Array(fresh.length + 8).fill(-7).buffer;
    const reused = kv.readBlocks(table, spent);
    expect(reused.buffer).toBe(spent);
    expect(reused).toEqual(fresh);
    const small = new Float32Array(fresh.length - 1).buffer;
    const other = kv.readBlocks(table, small);
    expect(other.buffer).not.toBe(small);
    expect(other).toEqual(fresh);
  });

  it('writes every page of its pools when asked, so a first use does not fault mid-step', () => {
    // 4 layers × keys and values × 2 heads × 16 positions × 32 dims × 4 bytes × 2048 blocks.
    const big = { numLayers: 4, numKvHeads: 2, headDim: 32, dtypeBytes: 4 };
    const kv = new PagedKv(big, 2048, 16);
    expect(kv.bytes).toBe(64 * 2 ** 20);
    const before = process.memoryUsage().rss;
    const fractions: number[] = [];
    kv.commitPages((f) => fractions.push(f));
    const grew = process.memoryUsage().rss - before;
    // A new typed array's pages are not resident until written.
    expect(grew).toBeGreaterThan(0.75 * kv.bytes);
    expect(fractions).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => i / 8));
    for (const pool of [...kv.keys, ...kv.values]) expect(pool.every((x) => x === 0)).toBe(true);
  });
});
