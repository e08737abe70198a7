import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../../src/engine/block-pool.js';
import { Rng } from '../../../src/engine/rng.js';

describe('BlockPool', () => {
  it('hands out every block once, then refuses', () => {
    const pool = new BlockPool(4);
    const got = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
    expect(new Set(got).size).toBe(4);
    expect(pool.numFreeBlocks).toBe(0);
    expect(() => pool.allocate()).toThrow(/exhausted/);
    pool.checkInvariants([got]);
  });

  it('reuses uncached blocks before cached ones, and evicts cached ones least recently freed first', () => {
    const pool = new BlockPool(4);
    const [a, b, c, d] = [pool.allocate(), pool.allocate(), pool.allocate(), pool.allocate()];
    pool.cacheBlock(a, 'ha');
    pool.cacheBlock(b, 'hb');
    pool.free(a); // cached, oldest
    pool.free(b); // cached
    pool.free(c); // uncached: goes first
    expect(pool.allocate()).toBe(c);
    expect(pool.allocate()).toBe(a);
    expect(pool.lookup('ha')).toBeUndefined();
    expect(pool.lookup('hb')).toBe(b);
    expect(pool.numEvictions).toBe(1);
    pool.checkInvariants([[d], [c], [a]]);
  });

  it('revives a cached free block on a prefix hit', () => {
    const pool = new BlockPool(2);
    const a = pool.allocate();
    pool.cacheBlock(a, 'h');
    pool.free(a);
    expect(pool.isFree(a)).toBe(true);
    const hit = pool.lookup('h')!;
    pool.touch(hit);
    expect(pool.isFree(a)).toBe(false);
    expect(pool.refCount(a)).toBe(1);
    expect(pool.numFreeBlocks).toBe(1);
    // The only free block is the other one; a is not evicted.
    const other = pool.allocate();
    expect(other).not.toBe(a);
    expect(pool.lookup('h')).toBe(a);
    pool.checkInvariants([[a], [other]]);
  });

  it('keeps the first block for a hash and refuses to double-cache', () => {
    const pool = new BlockPool(3);
    const a = pool.allocate();
    const b = pool.allocate();
    expect(pool.cacheBlock(a, 'h')).toBe(true);
    expect(pool.cacheBlock(b, 'h')).toBe(false);
    expect(pool.cacheBlock(a, 'h2')).toBe(false);
    expect(pool.lookup('h')).toBe(a);
    expect(pool.hashOf(b)).toBeNull();
  });

  it('catches a double free and mismatched holders', () => {
    const pool = new BlockPool(2);
    const a = pool.allocate();
    pool.free(a);
    expect(() => pool.free(a)).toThrow();
    const b = pool.allocate();
    pool.touch(b);
    expect(() => pool.checkInvariants([[b]])).toThrow(/holders/);
    pool.checkInvariants([[b], [b]]);
  });

  it('stays consistent over thousands of random allocate/share/free/evict/hit operations', () => {
    const rng = new Rng(12345);
    const pick = (n: number): number => rng.nextU32() % n;
    const pool = new BlockPool(48);
    const holders: number[][] = [];
    // What each hash was cached with: a hit must return a block still carrying that hash.
    const content = new Map<number, string>();
    let hits = 0;
    let evictionsSeen = 0;
    for (let op = 0; op < 20_000; op++) {
      const kind = pick(6);
      if (kind === 0 || kind === 1) {
        const want = 1 + pick(5);
        if (pool.numFreeBlocks >= want) {
          const blocks: number[] = [];
          for (let i = 0; i < want; i++) {
            const b = pool.allocate();
            if (content.has(b)) evictionsSeen++;
            content.delete(b);
            blocks.push(b);
          }
          holders.push(blocks);
        } else if (holders.length > 0) {
          // Out of blocks: release someone instead.
          pool.freeAll(holders.splice(pick(holders.length), 1)[0]);
        }
      } else if (kind === 2 && holders.length > 0) {
        // Share: a fork holds the same blocks.
        const src = holders[pick(holders.length)];
        for (const b of src) pool.touch(b);
        holders.push(src.slice());
      } else if (kind === 3 && holders.length > 0) {
        const [gone] = holders.splice(pick(holders.length), 1);
        pool.freeAll(gone);
      } else if (kind === 4 && holders.length > 0) {
        // Cache a held block under a hash from a small space, so collisions with cached ones happen.
        const h = holders[pick(holders.length)];
        const b = h[pick(h.length)];
        const hash = `h${pick(64)}`;
        if (pool.cacheBlock(b, hash)) content.set(b, hash);
      } else if (kind === 5) {
        const hash = `h${pick(64)}`;
        const b = pool.lookup(hash);
        if (b !== undefined) {
          expect(content.get(b)).toBe(hash);
          expect(pool.hashOf(b)).toBe(hash);
          pool.touch(b);
          holders.push([b]);
          hits++;
        }
      }
      pool.checkInvariants(holders);
    }
    expect(hits).toBeGreaterThan(100);
    expect(evictionsSeen).toBeGreaterThan(10);
    expect(pool.numEvictions).toBe(evictionsSeen);
    for (const h of holders.splice(0)) pool.freeAll(h);
    pool.checkInvariants([]);
    expect(pool.numFreeBlocks).toBe(48);
  });
});
