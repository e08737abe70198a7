import { describe, expect, it } from 'vitest';
import type { CoreRequest, EngineCoreConfig } from '../../../src/engine/core-types.js';
import { samplingParams, type SamplingParams } from '../../../src/shared/sampling.js';
import { Rng } from '../../../src/engine/rng.js';
import { Collector, VOCAB, greedy, makeCore, runUntilIdle, tokens } from './drive.js';
import { referenceGreedy } from './fake-runner.js';

/** Each request run alone on a roomy engine: the ground truth for batched runs. */
async function alone(
  req: CoreRequest,
  overrides: Partial<EngineCoreConfig> = {},
): Promise<number[][]> {
  const { core } = makeCore({ numBlocks: 512, ...overrides });
  core.addRequest(req);
  return (await runUntilIdle(core)).get(req.id).tokens;
}

function mixedRequests(count: number, seed: number): CoreRequest[] {
  const rng = new Rng(seed);
  const pick = (lo: number, hi: number): number => lo + (rng.nextU32() % (hi - lo + 1));
  const shared = tokens(seed, 24);
  const out: CoreRequest[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    const params: SamplingParams =
      kind === 0
        ? greedy({ maxTokens: pick(1, 30) })
        : samplingParams({
            temperature: kind === 1 ? 0.7 : 1.3,
            topK: kind === 2 ? 20 : 0,
            topP: kind === 3 ? 0.9 : 1,
            minP: kind === 1 ? 0.05 : 0,
            repetitionPenalty: kind === 2 ? 1.3 : 1,
            frequencyPenalty: kind === 3 ? 0.4 : 0,
            seed: 1000 + i,
            maxTokens: pick(1, 30),
            n: i % 9 === 0 ? 2 : 1,
            ignoreEos: i % 2 === 0,
          });
    // Some prompts share a long prefix so the prefix cache is exercised too.
    const own = tokens(seed * 100 + i, pick(1, 40));
    const prompt = i % 3 === 0 ? [...shared.slice(0, pick(4, 24)), ...own] : own;
    out.push({ id: `r${i}`, promptTokenIds: prompt, params });
  }
  return out;
}

describe('batch invariance', () => {
  for (const variant of [
    { name: 'roomy pool', cfg: { numBlocks: 512, maxBatchTokens: 256 } },
    {
      name: 'small batches and a tight pool (chunking + preemption)',
      cfg: { numBlocks: 60, maxBatchTokens: 24 },
    },
    {
      name: 'no prefix cache, tight pool',
      cfg: { numBlocks: 60, maxBatchTokens: 40, enablePrefixCaching: false },
    },
  ]) {
    it(`64 requests joining at different steps, some aborted, match their solo runs: ${variant.name}`, async () => {
      const reqs = mixedRequests(64, 7);
      const solo = new Map<string, number[][]>();
      for (const r of reqs) solo.set(r.id, await alone(r));

      const { core } = makeCore({ maxRunning: 16, ...variant.cfg });
      const collector = new Collector();
      const abortAt = new Map<string, number>();
      reqs.forEach((r, i) => {
        if (i % 7 === 3) abortAt.set(r.id, Math.floor(i / 2) + 3);
      });
      let next = 0;
      let step = 0;
      while (next < reqs.length || core.hasWork()) {
        // Two requests join per step; aborts land a few steps after their request joined.
        for (let k = 0; k < 2 && next < reqs.length; k++) core.addRequest(reqs[next++]);
        for (const [id, at] of abortAt) if (at === step) core.abort(id);
        collector.accept(await core.step());
        core.checkInvariants();
        step++;
        expect(step).toBeLessThan(20_000);
      }
      for (const r of reqs) {
        const got = collector.get(r.id);
        const want = solo.get(r.id)!;
        expect(got.finished).toBe(true);
        for (let c = 0; c < r.params.n; c++) {
          const mine = got.tokens[c] ?? [];
          if (got.finish[c] === 'abort') expect(want[c].slice(0, mine.length)).toEqual(mine);
          else expect(mine, `${r.id} choice ${c}`).toEqual(want[c]);
        }
      }
      const s = core.stats();
      expect(s.kv.usedBlocks).toBe(0);
      expect(s.counters.finished.abort).toBeGreaterThan(0);
      if (variant.cfg.numBlocks === 60) expect(s.counters.preemptions).toBeGreaterThan(0);
    });
  }

  it('the same seed gives the same tokens whatever shares the batch', async () => {
    const params = samplingParams({
      temperature: 1,
      topP: 0.95,
      seed: 42,
      maxTokens: 25,
      ignoreEos: true,
    });
    const prompt = tokens(11, 10);
    const solo = await alone({ id: 'x', promptTokenIds: prompt, params });
    const { core } = makeCore();
    for (let i = 0; i < 10; i++) {
      core.addRequest({
        id: `noise${i}`,
        promptTokenIds: tokens(200 + i, 5 + i),
        params: { ...params, seed: i },
      });
    }
    await core.step();
    core.addRequest({ id: 'x', promptTokenIds: prompt, params });
    const c = await runUntilIdle(core);
    expect(c.get('x').tokens).toEqual(solo);
    // A different seed gives a different stream (25 draws from ~97 tokens).
    const other = await alone({ id: 'y', promptTokenIds: prompt, params: { ...params, seed: 43 } });
    expect(other).not.toEqual(solo);
  });

  it('an unseeded request still samples (fresh random seed)', async () => {
    const { core } = makeCore();
    const params = samplingParams({ temperature: 1, seed: null, maxTokens: 10, ignoreEos: true });
    core.addRequest({ id: 'a', promptTokenIds: [1, 2, 3], params });
    expect((await runUntilIdle(core)).get('a').tokens[0]).toHaveLength(10);
  });
});

describe('prefix cache', () => {
  it('a second request with the same long prefix computes only its new tokens', async () => {
    const { core, runner } = makeCore({ blockSize: 4 });
    const prefix = tokens(21, 40);
    core.addRequest({ id: 'a', promptTokenIds: prefix, params: greedy({ maxTokens: 5 }) });
    await runUntilIdle(core);
    const before = runner.computedTokens;
    const promptB = [...prefix, ...tokens(22, 6)];
    core.addRequest({ id: 'b', promptTokenIds: promptB, params: greedy({ maxTokens: 5 }) });
    const c = await runUntilIdle(core);
    // 40 prefix tokens (10 full blocks) come from the cache: 6 prompt tokens + 4 decodes remain.
    expect(runner.computedTokens - before).toBe(6 + 4);
    expect(c.get('b').cachedPromptTokens).toBe(40);
    expect(c.get('b').tokens[0]).toEqual(referenceGreedy(promptB, VOCAB, 5));
    const s = core.stats();
    expect(s.prefixCache.hitTokens).toBe(40);
    expect(s.prefixCache.queriedTokens).toBe(40 + 46);
    expect(s.prefixCache.hitRate).toBeCloseTo(40 / 86);
    expect(s.counters.promptTokens).toBe(40 + 6);

    // Without the cache, the same request gives the same output.
    const { core: plain, runner: plainRunner } = makeCore({
      blockSize: 4,
      enablePrefixCaching: false,
    });
    plain.addRequest({ id: 'b', promptTokenIds: promptB, params: greedy({ maxTokens: 5 }) });
    expect((await runUntilIdle(plain)).get('b').tokens).toEqual(c.get('b').tokens);
    expect(plainRunner.computedTokens).toBe(46 + 4);
  });

  it('never serves the whole prompt: the last token is always computed', async () => {
    const { core, runner } = makeCore({ blockSize: 4 });
    const prompt = tokens(23, 16);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 3 }) });
    await runUntilIdle(core);
    const before = runner.computedTokens;
    core.addRequest({ id: 'b', promptTokenIds: prompt, params: greedy({ maxTokens: 3 }) });
    const c = await runUntilIdle(core);
    expect(c.get('b').cachedPromptTokens).toBe(12);
    expect(runner.computedTokens - before).toBe(4 + 2);
    expect(c.get('b').tokens[0]).toEqual(referenceGreedy(prompt, VOCAB, 3));
  });

  it('reuses generated tokens too (a follow-up turn hits the previous answer)', async () => {
    const { core, runner } = makeCore({ blockSize: 4 });
    const prompt = tokens(24, 10);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 12 }) });
    const first = (await runUntilIdle(core)).get('a').tokens[0];
    const before = runner.computedTokens;
    const followUp = [...prompt, ...first, 5, 6, 7];
    core.addRequest({ id: 'b', promptTokenIds: followUp, params: greedy({ maxTokens: 2 }) });
    const c = await runUntilIdle(core);
    // a computed 10 + 11 = 21 tokens: 5 full blocks = 20 tokens are cached.
    expect(c.get('b').cachedPromptTokens).toBe(20);
    expect(runner.computedTokens - before).toBe(25 - 20 + 1);
    expect(c.get('b').tokens[0]).toEqual(referenceGreedy(followUp, VOCAB, 2));
  });

  it('requests with the same prompt in one step do not read each other’s unwritten blocks', async () => {
    const { core } = makeCore({ blockSize: 4 });
    const prompt = tokens(25, 30);
    for (let i = 0; i < 4; i++)
      core.addRequest({ id: `r${i}`, promptTokenIds: prompt, params: greedy({ maxTokens: 8 }) });
    const c = await runUntilIdle(core);
    const ref = referenceGreedy(prompt, VOCAB, 8);
    for (let i = 0; i < 4; i++) expect(c.get(`r${i}`).tokens[0]).toEqual(ref);
  });

  it('a burst behind one shared prefix computes the prefix once, not once per request in a step', async () => {
    const { core, runner } = makeCore({ blockSize: 4, maxBatchTokens: 512 });
    const prefix = tokens(27, 40);
    const prompts = Array.from({ length: 6 }, (_, i) => [...prefix, ...tokens(30 + i, 5)]);
    prompts.forEach((p, i) =>
      core.addRequest({ id: `r${i}`, promptTokenIds: p, params: greedy({ maxTokens: 3 }) }),
    );
    const c = await runUntilIdle(core);
    // The budget fits all six prompts in the first step; the five behind r0 wait one step for
    // its 10 prefix blocks instead: 45 + 5 × 5 prompt tokens, then 2 decodes each.
    expect(runner.computedTokens).toBe(45 + 5 * 5 + 6 * 2);
    for (let i = 1; i < 6; i++) expect(c.get(`r${i}`).cachedPromptTokens).toBe(40);
    prompts.forEach((p, i) =>
      expect(c.get(`r${i}`).tokens[0]).toEqual(referenceGreedy(p, VOCAB, 3)),
    );

    // Distinct prompts are not held back: all six start in the first step.
    const { core: other } = makeCore({ blockSize: 4, maxBatchTokens: 512 });
    for (let i = 0; i < 6; i++)
      other.addRequest({ id: `d${i}`, promptTokenIds: tokens(40 + i, 45), params: greedy() });
    await other.step();
    expect(other.scheduler.running).toHaveLength(6);
  });

  it('evicted prefixes are recomputed correctly', async () => {
    const { core, runner } = makeCore({ blockSize: 4, numBlocks: 16 });
    const prompt = tokens(26, 20);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 4 }) });
    await runUntilIdle(core);
    // Fill the pool with other work so a's cached blocks are evicted.
    core.addRequest({
      id: 'filler',
      promptTokenIds: tokens(27, 50),
      params: greedy({ maxTokens: 10 }),
    });
    await runUntilIdle(core);
    const before = runner.computedTokens;
    core.addRequest({ id: 'b', promptTokenIds: prompt, params: greedy({ maxTokens: 4 }) });
    const c = await runUntilIdle(core);
    expect(c.get('b').tokens[0]).toEqual(referenceGreedy(prompt, VOCAB, 4));
    expect(c.get('b').cachedPromptTokens).toBeLessThan(16);
    expect(runner.computedTokens - before).toBe(20 - c.get('b').cachedPromptTokens + 3);
    expect(core.pool.numEvictions).toBeGreaterThan(0);
  });
});

describe('chunked prefill', () => {
  it('splits a long prompt across steps while running decodes get a token every step', async () => {
    const { core, runner } = makeCore({ maxBatchTokens: 8 });
    const short = tokens(31, 4);
    const long = tokens(32, 100);
    core.addRequest({ id: 'short', promptTokenIds: short, params: greedy({ maxTokens: 40 }) });
    const c = new Collector();
    c.accept(await core.step());
    core.addRequest({ id: 'long', promptTokenIds: long, params: greedy({ maxTokens: 5 }) });
    let longFirstTokenStep = -1;
    for (let step = 1; core.hasWork(); step++) {
      const logFrom = runner.log.length;
      const outs = await core.step();
      c.accept(outs);
      core.checkInvariants();
      const computed = runner.log.slice(logFrom).reduce((n, r) => n + r.tokenIds.length, 0);
      expect(computed).toBeLessThanOrEqual(8);
      const shortOut = outs.find((o) => o.requestId === 'short');
      if (!c.get('short').finished || shortOut)
        expect(shortOut?.choices[0].newTokenIds).toHaveLength(1);
      if (longFirstTokenStep < 0 && outs.some((o) => o.requestId === 'long'))
        longFirstTokenStep = step;
    }
    // 7 prompt tokens per step next to the short request's decode: ceil(100 / 7) = 15 steps.
    expect(longFirstTokenStep).toBe(15);
    expect(c.get('short').tokens[0]).toEqual(referenceGreedy(short, VOCAB, 40));
    expect(c.get('long').tokens[0]).toEqual(referenceGreedy(long, VOCAB, 5));
    const chunks = runner.log.filter((r) => r.tokenIds.length > 1).map((r) => r.tokenIds.length);
    expect(chunks.slice(1)).toEqual([...Array(14).fill(7), 2]);
  });
  it('decodes go first even when a prefill sits ahead of them in the running list', async () => {
    // The fork appends the second choice behind the long prompt admitted in the same step.
    const { core } = makeCore({ maxBatchTokens: 8 });
    const shortPrompt = tokens(33, 2);
    core.addRequest({
      id: 'short',
      promptTokenIds: shortPrompt,
      params: greedy({ n: 2, maxTokens: 20 }),
    });
    core.addRequest({
      id: 'long',
      promptTokenIds: tokens(34, 60),
      params: greedy({ maxTokens: 3 }),
    });
    const c = new Collector();
    for (let step = 0; core.hasWork(); step++) {
      const outs = await core.step();
      c.accept(outs);
      const short = outs.find((o) => o.requestId === 'short');
      if (step < 20) expect(short?.choices.map((ch) => ch.newTokenIds.length)).toEqual([1, 1]);
    }
    const ref = referenceGreedy(shortPrompt, VOCAB, 20);
    expect(c.get('short').tokens).toEqual([ref, ref]);
  });
});

describe('preemption', () => {
  it('all requests complete with correct outputs under a tiny block budget', async () => {
    // 24 blocks × 4 = 96 KV slots for 8 requests that each need 40.
    const { core } = makeCore({ numBlocks: 24, blockSize: 4 });
    const prompts = Array.from({ length: 8 }, (_, i) => tokens(40 + i, 10));
    prompts.forEach((p, i) =>
      core.addRequest({ id: `r${i}`, promptTokenIds: p, params: greedy({ maxTokens: 30 }) }),
    );
    const c = await runUntilIdle(core);
    prompts.forEach((p, i) => {
      expect(c.get(`r${i}`).tokens[0]).toEqual(referenceGreedy(p, VOCAB, 30));
      expect(c.get(`r${i}`).finish).toEqual(['length']);
    });
    expect(core.stats().counters.preemptions).toBeGreaterThan(0);
    expect(core.stats().kv.usedBlocks).toBe(0);
  });

  it('preempted sampled choices keep their seeded streams', async () => {
    const reqs: CoreRequest[] = Array.from({ length: 6 }, (_, i) => ({
      id: `s${i}`,
      promptTokenIds: tokens(50 + i, 9),
      params: samplingParams({
        temperature: 0.9,
        seed: i,
        maxTokens: 30,
        n: i % 2 === 0 ? 2 : 1,
        ignoreEos: true,
      }),
    }));
    const { core } = makeCore({ numBlocks: 20, blockSize: 4 });
    reqs.forEach((r) => core.addRequest(r));
    const c = await runUntilIdle(core);
    for (const r of reqs) expect(c.get(r.id).tokens).toEqual(await alone(r));
    expect(core.stats().counters.preemptions).toBeGreaterThan(0);
  });

  it('a request that outgrows the whole pool ends with length', async () => {
    const { core } = makeCore({ numBlocks: 6, blockSize: 4 });
    const prompt = tokens(60, 10);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 1000 }) });
    const r = (await runUntilIdle(core)).get('a');
    expect(r.finish).toEqual(['length']);
    // 24 KV slots compute positions 0..23; the token sampled there is the last one (never computed).
    expect(r.tokens[0]).toEqual(referenceGreedy(prompt, VOCAB, 24 - 10 + 1));
  });
});

describe('n choices', () => {
  it('share the prompt blocks, prefill once and copy the partial block on divergence', async () => {
    const { core, runner } = makeCore({ blockSize: 4 });
    const prompt = tokens(70, 10);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ n: 3, maxTokens: 6 }) });
    const c = await runUntilIdle(core);
    const ref = referenceGreedy(prompt, VOCAB, 6);
    expect(c.get('a').tokens).toEqual([ref, ref, ref]);
    expect(c.get('a').finish).toEqual(['length', 'length', 'length']);
    expect(runner.computedTokens).toBe(10 + 3 * 5);
    // Three choices write into the shared partial block: the first two copy it, the last keeps it.
    expect(runner.copies).toBe(2);
    expect(core.stats().counters.finished.length).toBe(3);
  });

  it('with a block-aligned prompt nothing needs copying', async () => {
    const { core, runner } = makeCore({ blockSize: 4 });
    core.addRequest({
      id: 'a',
      promptTokenIds: tokens(71, 8),
      params: greedy({ n: 2, maxTokens: 4 }),
    });
    await runUntilIdle(core);
    expect(runner.copies).toBe(0);
  });

  it('choice 0 samples like the seed alone; choice 1 is not the next seed', async () => {
    const prompt = tokens(72, 7);
    const params = samplingParams({
      temperature: 1.1,
      seed: 9,
      maxTokens: 12,
      ignoreEos: true,
      logprobs: true,
    });
    const both = await alone({ id: 'a', promptTokenIds: prompt, params: { ...params, n: 2 } });
    const first = await alone({ id: 'b', promptTokenIds: prompt, params });
    const second = await alone({
      id: 'c',
      promptTokenIds: prompt,
      params: { ...params, seed: 10 },
    });
    // Each choice has its own stream of the seed: choice 1 of seed 9 must not repeat choice 0
    // of seed 10, or bumping the seed by one would replay a completion.
    expect(both[0]).toEqual(first[0]);
    expect(both[1]).not.toEqual(second[0]);
    expect(both[0]).not.toEqual(both[1]);
    expect(await alone({ id: 'd', promptTokenIds: prompt, params: { ...params, n: 2 } })).toEqual(
      both,
    );
  });

  it('one choice may stop while the other continues', async () => {
    const prompt = tokens(73, 5);
    const params = samplingParams({ temperature: 1.5, seed: 1, maxTokens: 20, n: 2 });
    const solo = await alone({ id: 'a', promptTokenIds: prompt, params }, { eosTokenIds: [] });
    // Make the first choice's 3rd token a stop id that the second choice never produces early.
    const stopId = solo[0][2];
    const { core } = makeCore({ eosTokenIds: [] });
    core.addRequest({
      id: 'a',
      promptTokenIds: prompt,
      params: { ...params, stopTokenIds: [stopId] },
    });
    const r = (await runUntilIdle(core)).get('a');
    expect(r.tokens[0]).toEqual(solo[0].slice(0, solo[0].indexOf(stopId) + 1));
    expect(r.finish[0]).toBe('stop');
    const stop1 = solo[1].indexOf(stopId);
    expect(r.tokens[1]).toEqual(stop1 >= 0 ? solo[1].slice(0, stop1 + 1) : solo[1]);
  });
});

describe('host-ended choices', () => {
  it('finishChoice ends one choice and frees its blocks while the other continues', async () => {
    const prompt = tokens(80, 6);
    const params = samplingParams({
      temperature: 1,
      seed: 4,
      maxTokens: 20,
      n: 2,
      ignoreEos: true,
    });
    const solo = await alone({ id: 'a', promptTokenIds: prompt, params });
    const { core } = makeCore();
    core.addRequest({ id: 'a', promptTokenIds: prompt, params });
    const c = new Collector();
    for (let i = 0; i < 4; i++) c.accept(await core.step());
    const usedBefore = core.stats().kv.usedBlocks;
    core.finishChoice('a', 0, 'stop');
    core.finishChoice('a', 7, 'stop'); // no such choice: ignored
    c.accept(await core.step());
    expect(c.get('a').finish[0]).toBe('stop');
    expect(core.stats().kv.usedBlocks).toBeLessThan(usedBefore);
    await runUntilIdle(core, c);
    const r = c.get('a');
    expect(r.tokens[0]).toEqual(solo[0].slice(0, 4));
    expect(r.tokens[1]).toEqual(solo[1]);
    expect(r.finish).toEqual(['stop', 'length']);
    expect(core.stats().counters.finished).toEqual({ stop: 1, length: 1, abort: 0 });
    expect(core.stats().kv.usedBlocks).toBe(0);
  });

  it('ending the last open choice finishes the request', async () => {
    const { core } = makeCore();
    core.addRequest({ id: 'a', promptTokenIds: [1, 2, 3], params: greedy({ maxTokens: 50 }) });
    const c = new Collector();
    c.accept(await core.step());
    core.finishChoice('a', 0);
    c.accept(await core.step());
    expect(c.get('a').finished).toBe(true);
    expect(c.get('a').finish).toEqual(['stop']);
    expect(core.hasWork()).toBe(false);
  });
});
