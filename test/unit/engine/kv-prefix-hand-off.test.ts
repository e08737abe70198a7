import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../../src/engine/block-pool.js';
import type { EngineCore } from '../../../src/engine/engine-core.js';
import { KvCacheManager } from '../../../src/engine/kv-cache-manager.js';
import { Collector, greedy, makeCore, tokens as driveTokens, type Collected } from './drive.js';

const BS = 4;
const tokens = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => (seed * 31 + i) % 97);

function manager(blocks: number, caching = true) {
  const pool = new BlockPool(blocks);
  return { pool, kv: new KvCacheManager(pool, BS, caching, () => {}) };
}

describe('prefix hand-off bookkeeping (cachedChain, adoptChain)', () => {
  it('adopts full blocks as free cached blocks that the donor chain finds again', () => {
    const { pool, kv } = manager(8);
    const t = tokens(14); // 3 full blocks and a partial one
    const written: Array<[number, number]> = [];
    expect(kv.adoptChain(t, 3, (block, index) => written.push([block, index]))).toBe(3);
    expect(written.map(([, i]) => i)).toEqual([0, 1, 2]);
    const chain = kv.cachedChain(t);
    expect(chain).toEqual(written.map(([b]) => b));
    // Free and cached: nobody holds them, any allocation may evict them later.
    for (const b of chain) expect(pool.refCount(b)).toBe(0);
    expect(pool.numFreeBlocks).toBe(8);
    expect(pool.numCachedBlocks).toBe(3);
    pool.checkInvariants();
    // Another prompt sharing the first two blocks only.
    const other = [...t.slice(0, 8), 500, 501, 502, 503];
    expect(kv.cachedChain(other)).toEqual(chain.slice(0, 2));
  });

  it('keeps blocks it already has and writes only the missing ones', () => {
    const { pool, kv } = manager(8);
    const t = tokens(16);
    kv.adoptChain(t, 2, () => {});
    const first = kv.cachedChain(t);
    const written: number[] = [];
    expect(kv.adoptChain(t, 4, (_b, i) => written.push(i))).toBe(2);
    expect(written).toEqual([2, 3]);
    expect(kv.cachedChain(t).slice(0, 2)).toEqual(first);
    pool.checkInvariants();
  });

  it('stops when no block is free and never evicts the chain it is filling', () => {
    const { pool, kv } = manager(3);
    const t = tokens(20);
    // Fill the pool with the chain's first 3 blocks, then ask for 5: the first 3 stay.
    expect(kv.adoptChain(t, 3, () => {})).toBe(3);
    const before = kv.cachedChain(t);
    expect(kv.adoptChain(t, 5, () => {})).toBe(0);
    expect(kv.cachedChain(t)).toEqual(before);
    // Held blocks leave no room at all.
    const held = [pool.allocate(), pool.allocate(), pool.allocate()];
    expect(kv.adoptChain(tokens(20, 9), 2, () => {})).toBe(0);
    pool.freeAll(held);
    pool.checkInvariants();
  });

  it('does nothing without prefix caching', () => {
    const { kv } = manager(8, false);
    expect(kv.adoptChain(tokens(16), 4, () => {})).toBe(0);
    expect(kv.cachedChain(tokens(16))).toEqual([]);
  });
});

describe('EngineCore prefix export and import (fake runner)', () => {
  async function run(core: EngineCore, id: string, prompt: number[]): Promise<Collected> {
    const c = new Collector();
    core.addRequest({ id, promptTokenIds: prompt, params: greedy({ maxTokens: 6 }) });
    while (core.hasWork()) c.accept(await core.step());
    return c.get(id);
  }

  it('a prefix computed by one core serves another: only the rest is computed', async () => {
    const a = makeCore();
    const b = makeCore();
    const prompt = [...driveTokens(7, 40)];
    const first = await run(a.core, 'a', prompt);
    const exported = a.core.exportPrefix(prompt);
    expect(exported.blocks).toBe(10); // 40 tokens, 4 per block
    expect(b.core.importPrefix(prompt, exported.blocks, exported.data!)).toBe(10);
    const before = b.runner.computedTokens;
    // The fake runner checks that every past position it reads holds this exact prefix.
    const second = await run(b.core, 'b', prompt);
    expect(second.tokens).toEqual(first.tokens);
    expect(second.cachedPromptTokens).toBe(36); // the last prompt token is always computed
    expect(b.runner.computedTokens - before).toBe(4 + 5);
    b.core.pool.checkInvariants();
  });

  it('says when a request there is still computing a prefix worth waiting for', async () => {
    // 16 prompt tokens per step: a 40-token prompt takes three steps of prefill.
    const a = makeCore({ maxBatchTokens: 16 });
    const prompt = [...driveTokens(9, 40)];
    const prefix = prompt.slice(0, 32);
    expect(a.core.computingPrefix(prefix)).toBe(false);
    a.core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 4 }) });
    // Waiting, then part-way: not all 8 blocks of the prefix are cached yet.
    expect(a.core.computingPrefix(prefix)).toBe(true);
    await a.core.step();
    expect(a.core.exportPrefix(prefix).blocks).toBe(4);
    expect(a.core.computingPrefix(prefix)).toBe(true);
    // Another prompt: nobody computes it.
    expect(a.core.computingPrefix(driveTokens(10, 32))).toBe(false);
    await a.core.step();
    // All 8 cached: answer now.
    expect(a.core.computingPrefix(prefix)).toBe(false);
    expect(a.core.exportPrefix(prefix).blocks).toBe(8);
    // An aborted request computes nothing more: an export must not wait for it.
    const b = makeCore({ maxBatchTokens: 16 });
    b.core.addRequest({ id: 'b', promptTokenIds: prompt, params: greedy({ maxTokens: 4 }) });
    await b.core.step();
    expect(b.core.computingPrefix(prefix)).toBe(true);
    b.core.abort('b');
    await b.core.step();
    expect(b.core.computingPrefix(prefix)).toBe(false);
  });

  it('takes only whole blocks of a short payload, and nothing without block access', async () => {
    const a = makeCore();
    const b = makeCore();
    const prompt = [...driveTokens(8, 24)];
    await run(a.core, 'a', prompt);
    const { blocks, data } = a.core.exportPrefix(prompt);
    expect(blocks).toBe(6);
    const perBlock = data!.length / blocks;
    const short = data!.subarray(0, Math.floor(perBlock * 2.5));
    expect(b.core.importPrefix(prompt, blocks, short)).toBe(2);
    expect(b.core.kv.cachedChain(prompt)).toHaveLength(2);
    b.core.pool.checkInvariants();
  });
});
