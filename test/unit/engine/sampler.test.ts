import { describe, expect, it } from 'vitest';
import {
  applyLogitBias,
  applyMinP,
  applyPresenceFrequencyPenalties,
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  argmax,
  drawFromLogits,
  topIds,
} from '../../../src/engine/logits-processors.js';
import { Rng } from '../../../src/engine/rng.js';
import { Sampler, rawLogprobs } from '../../../src/engine/sampler.js';
import { ChoiceState } from '../../../src/engine/sequence.js';
import { samplingParams, type SamplingParams } from '../../../src/shared/sampling.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);
const kept = (l: Float32Array): number[] => [...l.keys()].filter((i) => l[i] !== -Infinity);

describe('logits processors', () => {
  it('logit bias adds per token id (string keys from JSON too)', () => {
    const l = f32([1, 2, 3]);
    applyLogitBias(l, JSON.parse('{"0": 5, "2": -100, "9": 1}') as Record<number, number>);
    expect([...l]).toEqual([6, 2, -97]);
  });

  it('repetition penalty divides positive logits and multiplies negative ones', () => {
    const l = f32([2, -2, 1, 4]);
    applyRepetitionPenalty(l, new Set([0, 1]), 2);
    expect([...l]).toEqual([1, -4, 1, 4]);
  });

  it('presence and frequency penalties subtract per generated occurrence', () => {
    const l = f32([1, 1, 1]);
    applyPresenceFrequencyPenalties(
      l,
      new Map([
        [0, 2],
        [2, 1],
      ]),
      0.5,
      1,
    );
    expect([...l]).toEqual([1 - 2 - 0.5, 1, 1 - 1 - 0.5]);
  });

  it('temperature divides', () => {
    const l = f32([1, -2, 4]);
    applyTemperature(l, 0.5);
    expect([...l]).toEqual([2, -4, 8]);
  });

  it('top-k keeps the k best and anything tied with the k-th', () => {
    const scratch = new Float32Array(8);
    const a = f32([1, 5, 3, 5, 2]);
    applyTopK(a, 3, scratch);
    expect(kept(a)).toEqual([1, 2, 3]);
    const b = f32([1, 3, 3, 2]);
    applyTopK(b, 1, scratch);
    expect(kept(b)).toEqual([1, 2]);
    const c = f32([1, 3, 3, 2]);
    applyTopK(c, 0, scratch);
    expect(kept(c)).toEqual([0, 1, 2, 3]);
  });

  it('top-p keeps the smallest head whose mass reaches p', () => {
    const keys = new Float64Array(8);
    const probs = [0.5, 0.3, 0.15, 0.05];
    const mk = (): Float32Array => f32([probs[2], probs[0], probs[3], probs[1]].map(Math.log));
    let l = mk();
    applyTopP(l, 0.8 - 1e-6, keys);
    expect(kept(l)).toEqual([1, 3]);
    l = mk();
    applyTopP(l, 0.81, keys);
    expect(kept(l)).toEqual([0, 1, 3]);
    l = mk();
    applyTopP(l, 1e-9, keys);
    expect(kept(l)).toEqual([1]);
  });

  it('top-p and top-k agree with a sort-based reference on a large random vocab', () => {
    const rng = new Rng(3);
    const n = 4096;
    const keys = new Float64Array(n);
    const scratch = new Float32Array(n);
    for (let trial = 0; trial < 20; trial++) {
      const base = new Float32Array(n);
      // Quantized values make ties common; the scale goes from nearly flat to very peaked.
      const scale = 0.05 + trial * 0.5;
      for (let i = 0; i < n; i++) base[i] = (Math.round(rng.nextFloat() * 40) / 4) * scale;
      const order = [...base.keys()].sort((x, y) => base[y] - base[x] || x - y);
      const p = 0.05 + rng.nextFloat() * 0.9;
      const max = base[order[0]];
      const sum = order.reduce((s, i) => s + Math.exp(base[i] - max), 0);
      const want: number[] = [];
      let cum = 0;
      for (const i of order) {
        if (want.length > 0 && cum >= p * sum) break;
        want.push(i);
        cum += Math.exp(base[i] - max);
      }
      const l = base.slice();
      applyTopP(l, p, keys);
      expect(kept(l)).toEqual(want.sort((x, y) => x - y));

      const k = 1 + (rng.nextU32() % 200);
      const threshold = base[order[k - 1]];
      const t = base.slice();
      applyTopK(t, k, scratch);
      expect(kept(t)).toEqual([...base.keys()].filter((i) => base[i] >= threshold));
    }
  });

  it('min-p drops tokens below minP × the top probability', () => {
    const l = f32([0.5, 0.3, 0.15, 0.05].map(Math.log));
    applyMinP(l, 0.2);
    expect(kept(l)).toEqual([0, 1, 2]);
  });

  it('argmax picks the lowest id on ties; top ids order by value then id', () => {
    expect(argmax(f32([1, 3, 3, 2]))).toBe(1);
    expect(topIds(f32([1, 3, 3, 2, 5]), 3)).toEqual([4, 1, 2]);
  });

  it('draws follow the softmax probabilities', () => {
    const l = f32([0.1, 0.6, 0.3].map(Math.log).concat([-Infinity]));
    const probs = new Float32Array(4);
    const counts = [0, 0, 0, 0];
    const N = 10_000;
    for (let i = 0; i < N; i++) counts[drawFromLogits(l, (i + 0.5) / N, probs)]++;
    expect(counts).toEqual([1000, 6000, 3000, 0]);
  });
});

function choice(
  params: SamplingParams,
  prompt: number[] = [],
  seed = params.seed ?? 0,
): ChoiceState {
  return new ChoiceState(0, seed, params, prompt);
}

describe('Sampler', () => {
  it('greedy applies bias and penalties before the argmax', () => {
    const s = new Sampler(4);
    const row = f32([1, 3, 2, 0]);
    expect(
      s.sample(row, samplingParams({ temperature: 0 }), choice(samplingParams())).tokenId,
    ).toBe(1);
    const biased = samplingParams({ temperature: 0, logitBias: { 3: 10 } });
    expect(s.sample(row, biased, choice(biased)).tokenId).toBe(3);
    const rep = samplingParams({ temperature: 0, repetitionPenalty: 2 });
    expect(s.sample(row, rep, choice(rep, [1])).tokenId).toBe(2);
    const freq = samplingParams({ temperature: 0, frequencyPenalty: 0.6 });
    const c = choice(freq);
    c.recordOutput(1, null);
    c.recordOutput(1, null);
    expect(s.sample(row, freq, c).tokenId).toBe(2);
    // The raw row is never modified.
    expect([...row]).toEqual([1, 3, 2, 0]);
  });

  it('runs temperature before top-k/top-p/min-p', () => {
    // With a very low temperature the top-p head is only the best token, whatever the draw.
    const s = new Sampler(3);
    const params = samplingParams({ temperature: 0.01, topP: 0.5, seed: 1 });
    const c = choice(params);
    for (let i = 0; i < 50; i++) expect(s.sample(f32([1, 1.2, 0.9]), params, c).tokenId).toBe(1);
  });

  it('top-k 1 behaves like greedy', () => {
    const s = new Sampler(5);
    const params = samplingParams({ temperature: 2, topK: 1, seed: 5 });
    const c = choice(params);
    for (let i = 0; i < 50; i++)
      expect(s.sample(f32([0, 1, 4, 3.9, 2]), params, c).tokenId).toBe(2);
  });

  it('a seeded choice is reproducible and independent of other choices sampled in between', () => {
    const s = new Sampler(6);
    const row = f32([1, 1, 1, 1, 1, 1]);
    const params = samplingParams({ temperature: 1, seed: 77 });
    const a = choice(params);
    const aTokens = Array.from({ length: 40 }, () => s.sample(row, params, a).tokenId);
    const b = choice(params);
    const noise = choice(samplingParams({ temperature: 1, seed: 1 }));
    const bTokens = Array.from({ length: 40 }, () => {
      s.sample(row, params, noise);
      return s.sample(row, params, b).tokenId;
    });
    expect(bTokens).toEqual(aTokens);
    expect(new Set(aTokens).size).toBeGreaterThan(3);
  });

  it('logprobs come from the raw logits, with top alternatives', () => {
    const row = f32([2, 0, 1, -1]);
    const lse = Math.log([2, 0, 1, -1].reduce((sum, v) => sum + Math.exp(v), 0));
    const lp = rawLogprobs(row, 2, 2);
    expect(lp.tokenId).toBe(2);
    expect(lp.logprob).toBeCloseTo(1 - lse, 6);
    expect(lp.top.map((t) => t.tokenId)).toEqual([0, 2]);
    expect(lp.top[0].logprob).toBeCloseTo(2 - lse, 6);
    // Processors (here a strong bias) change the choice but not the reported raw logprob.
    const s = new Sampler(4);
    const params = samplingParams({
      temperature: 0,
      logitBias: { 3: 50 },
      logprobs: true,
      topLogprobs: 1,
    });
    const out = s.sample(row, params, choice(params));
    expect(out.tokenId).toBe(3);
    expect(out.logprob?.logprob).toBeCloseTo(-1 - lse, 6);
    expect(out.logprob?.top.map((t) => t.tokenId)).toEqual([0]);
  });
});

describe('Rng', () => {
  it('is deterministic per seed, distinct across seeds, and uniform enough', () => {
    const a = new Rng(1);
    const b = new Rng(1);
    const c = new Rng(2);
    const xs = Array.from({ length: 1000 }, () => a.nextFloat());
    expect(Array.from({ length: 1000 }, () => b.nextFloat())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c.nextFloat())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    // Seeds beyond 32 bits and negative seeds are distinct too.
    expect(new Rng(2 ** 40).nextU32()).not.toBe(new Rng(0).nextU32());
    expect(new Rng(-1).nextU32()).not.toBe(new Rng(1).nextU32());
  });
});
