import { describe, expect, it } from 'vitest';
import { BlockPool } from '../../../../src/engine/block-pool.js';
import { KvCacheManager } from '../../../../src/engine/kv-cache-manager.js';
import { grantedDrafts } from '../../../../src/engine/schedule-plan.js';
import { Scheduler } from '../../../../src/engine/scheduler.js';
import { RequestState } from '../../../../src/engine/sequence.js';
import { Rng } from '../../../../src/engine/rng.js';
import { samplingParams, type SpeculativeMode } from '../../../../src/shared/sampling.js';
import { config, greedy, runUntilIdle, tokens, Collector } from '../drive.js';
import { greedyWith, hashModel, makeSpecCore } from './spec-drive.js';

function setup(numBlocks: number, maxTokens = 40) {
  const cfg = config({ numBlocks, blockSize: 4 });
  const pool = new BlockPool(numBlocks);
  const kv = new KvCacheManager(pool, 4, true, () => {});
  const scheduler = new Scheduler(cfg, kv);
  const request = new RequestState('r', tokens(1, 7), greedy({ maxTokens }), 1);
  scheduler.add(request);
  // Prefill, then one sampled token: 8 tokens, 7 computed, 2 blocks.
  const plan = scheduler.schedule();
  scheduler.update(plan, new Map([[0, [{ tokenId: 5, logprob: null }]]]));
  return { scheduler, kv, pool, seq: scheduler.running[0] };
}

describe('scheduling draft tokens', () => {
  it('grants drafts within the budget, max tokens and context length', () => {
    const { seq } = setup(16, 40);
    seq.plannedDrafts = 6;
    expect(grantedDrafts(seq, 100, 1024)).toBe(6);
    expect(grantedDrafts(seq, 4, 1024)).toBe(3);
    expect(grantedDrafts(seq, 100, 12)).toBe(3); // 8 tokens, all accepted → 12
    seq.plannedDrafts = 0;
    expect(grantedDrafts(seq, 100, 1024)).toBe(0);
    const short = setup(16, 3).seq; // one token out, 2 to go: one draft + the target's token
    short.plannedDrafts = 5;
    expect(grantedDrafts(short, 100, 1024)).toBe(1);
  });

  it('drops the drafts, not another sequence, when their blocks do not fit', () => {
    const { scheduler, seq } = setup(3);
    seq.plannedDrafts = 6; // positions 7..13 need 4 blocks; 3 exist
    const plan = scheduler.schedule();
    expect(plan.scheduled).toHaveLength(1);
    expect(plan.scheduled[0].numDrafts).toBe(0);
    expect(plan.preempted).toHaveLength(0);
    expect(scheduler.counters.preemptions).toBe(0);
  });

  it('a small token budget still gives every decoding sequence its token before any drafts', () => {
    const cfg = config({ numBlocks: 64, blockSize: 4, maxBatchTokens: 8 });
    const kv = new KvCacheManager(new BlockPool(64), 4, true, () => {});
    const scheduler = new Scheduler(cfg, kv);
    for (let i = 0; i < 6; i++)
      scheduler.add(new RequestState(`r${i}`, tokens(i, 3), greedy({ maxTokens: 40 }), 1));
    // Prefill everyone (3 tokens each, budget 8 a step), one sampled token each.
    while (scheduler.running.some((q) => q.numComputedTokens < 3) || scheduler.waiting.length) {
      const plan = scheduler.schedule();
      const sampled = new Map(
        plan.scheduled
          .filter((e) => e.runner.numLogits > 0)
          .map((e) => [e.seq.seqId, [{ tokenId: 5, logprob: null }]]),
      );
      scheduler.update(plan, sampled);
    }
    expect(scheduler.running).toHaveLength(6);
    for (const seq of scheduler.running) seq.plannedDrafts = 6;
    const plan = scheduler.schedule();
    // All six decode; only the 2 tokens left over go to drafts.
    expect(plan.scheduled.map((e) => e.seq.seqId).sort()).toEqual(
      scheduler.running.map((q) => q.seqId).sort(),
    );
    expect(plan.scheduled.reduce((n, e) => n + e.numDrafts, 0)).toBe(2);
    expect(plan.scheduled.reduce((n, e) => n + e.numNewTokens, 0)).toBe(8);
  });

  it('rolls rejected positions back and frees their blocks', () => {
    const { scheduler, seq, pool, kv } = setup(16);
    seq.plannedDrafts = 6; // positions 7..13 → blocks for 14 tokens: 4
    const plan = scheduler.schedule();
    expect(plan.scheduled[0].numDrafts).toBe(6);
    expect(plan.scheduled[0].runner.numLogits).toBe(7);
    expect(seq.blockIds).toHaveLength(4);
    plan.scheduled[0].runner.tokenIds.splice(1, 6, 11, 12, 13, 14, 15, 16);
    // One draft accepted, then the target's own token.
    scheduler.update(
      plan,
      new Map([
        [
          0,
          [
            { tokenId: 11, logprob: null },
            { tokenId: 40, logprob: null },
          ],
        ],
      ]),
    );
    expect(seq.tokens.slice(7)).toEqual([5, 11, 40]);
    expect(seq.numComputedTokens).toBe(9);
    expect(seq.blockIds).toHaveLength(kv.blocksFor(9));
    expect(pool.numFreeBlocks).toBe(16 - 3);
    pool.checkInvariants(scheduler.blockHolders());
    // Only full blocks of accepted tokens are cached: block 0 (positions 0..3) and 1 (4..7).
    expect(pool.numCachedBlocks).toBe(2);
  });
});

describe('speculation under churn', () => {
  it('random modes, sampling, aborts, chunking and preemption keep outputs and bookkeeping right', async () => {
    const rng = new Rng(4242);
    const pick = (lo: number, hi: number): number => lo + (rng.nextU32() % (hi - lo + 1));
    const modes: SpeculativeMode[] = ['off', 'draft', 'lookup'];
    const { core } = makeSpecCore({
      config: { numBlocks: 48, blockSize: 4, maxBatchTokens: 24 },
      speculative: { maxDrafts: 5 },
    });
    const base = core.pool.numFreeBlocks;
    const greedyIds: { id: string; prompt: number[]; maxTokens: number }[] = [];
    const collector = new Collector();
    let next = 0;
    const aborted = new Set<string>();
    for (let step = 0; step < 4000 && (next < 60 || core.hasWork()); step++) {
      if (next < 60 && rng.nextFloat() < 0.3) {
        const id = `r${next}`;
        const shared = tokens(9, 12);
        const prompt =
          next % 3 === 0 ? [...shared, ...tokens(next, pick(1, 10))] : tokens(next, pick(2, 30));
        const maxTokens = pick(1, 30);
        const mode = modes[next % 3];
        const sampled = next % 4 === 1;
        core.addRequest({
          id,
          promptTokenIds: prompt,
          params: sampled
            ? samplingParams({
                temperature: 0.9,
                topP: 0.95,
                seed: next,
                maxTokens,
                ignoreEos: true,
                speculative: mode,
                n: next % 8 === 1 ? 2 : 1,
              })
            : greedy({ maxTokens, speculative: mode, repetitionPenalty: next % 5 === 0 ? 1.2 : 1 }),
        });
        if (!sampled && next % 5 !== 0) greedyIds.push({ id, prompt, maxTokens });
        next++;
      }
      if (rng.nextFloat() < 0.03 && next > 0) {
        const victim = `r${pick(0, next - 1)}`;
        core.abort(victim);
        aborted.add(victim);
      }
      collector.accept(await core.step());
      core.checkInvariants();
    }
    await runUntilIdle(core, collector);
    let checked = 0;
    for (const { id, prompt, maxTokens } of greedyIds) {
      if (aborted.has(id)) continue;
      expect(collector.get(id).tokens[0], id).toEqual(greedyWith(hashModel, prompt, maxTokens));
      checked++;
    }
    expect(checked).toBeGreaterThan(15);
    expect(core.stats().counters.preemptions).toBeGreaterThan(0);
    expect(core.stats().speculative.accepted).toBeGreaterThan(0);
    expect(core.pool.numFreeBlocks).toBe(base);
  });
});
