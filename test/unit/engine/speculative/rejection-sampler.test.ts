import { describe, expect, it } from 'vitest';
import { Rng } from '../../../../src/engine/rng.js';
import { Sampler } from '../../../../src/engine/sampler.js';
import { drawFromLogits } from '../../../../src/engine/logits-processors.js';
import { ChoiceState } from '../../../../src/engine/sequence.js';
import { drawFromProbs } from '../../../../src/engine/speculative/draft-proposer.js';
import {
  RejectionSampler,
  softmax,
  type DraftTokens,
} from '../../../../src/engine/speculative/rejection-sampler.js';
import { samplingParams, type SamplingParams } from '../../../../src/shared/sampling.js';
import { chiSquare } from './chi-square.js';

const V = 8;
const TARGET = Float32Array.from([2.0, 1.2, 0.3, -0.5, 1.9, 0.0, -1.5, 0.8]);
const BONUS = Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
/** A draft distribution that is wrong in several ways: too sure of 1, blind to 4. */
const Q = Float32Array.from([0.15, 0.45, 0.1, 0.1, 0, 0.05, 0.05, 0.1]);

/** The distribution plain sampling draws from: the processor pipeline, then softmax. */
function targetProbs(logits: Float32Array, params: SamplingParams): Float64Array {
  const work = Float32Array.from(logits);
  new Sampler(V).process(work, params, new ChoiceState(0, 0, params, []));
  return softmax(work, new Float64Array(V));
}

function firstTokens(
  params: SamplingParams,
  draftOf: (rng: Rng) => DraftTokens,
  trials: number,
  rows: Float32Array[],
  verifier = new RejectionSampler(new Sampler(V), V),
): number[] {
  const counts = new Array<number>(V).fill(0);
  const choice = new ChoiceState(0, 12345, params, []);
  const logits = new Float32Array(rows.length * V);
  rows.forEach((r, i) => logits.set(r, i * V));
  for (let t = 0; t < trials; t++) {
    const draft = draftOf(choice.rng);
    const { tokens, accepted } = verifier.verify(logits, draft, params, choice);
    expect(tokens.length).toBe(accepted + 1);
    counts[tokens[0].tokenId]++;
  }
  return counts;
}

describe('RejectionSampler', () => {
  const TRIALS = 40_000;

  it('the first token follows the target distribution for a draft model', () => {
    const params = samplingParams({ temperature: 1 });
    const draftOf = (rng: Rng): DraftTokens => ({
      tokenIds: [drawFromProbs(Q, rng.nextFloat())],
      probs: [Q],
    });
    const counts = firstTokens(params, draftOf, TRIALS, [TARGET, BONUS]);
    const result = chiSquare(counts, targetProbs(TARGET, params));
    expect(result.pass, JSON.stringify(result)).toBe(true);
  });

  it('…with temperature, top-k and top-p applied to the verified row', () => {
    const params = samplingParams({ temperature: 0.7, topK: 5, topP: 0.9 });
    const draftOf = (rng: Rng): DraftTokens => ({
      tokenIds: [drawFromProbs(Q, rng.nextFloat())],
      probs: [Q],
    });
    const p = targetProbs(TARGET, params);
    expect(p.filter((x) => x === 0).length).toBeGreaterThan(0); // the filters really masked tokens
    const counts = firstTokens(params, draftOf, TRIALS, [TARGET, BONUS]);
    const result = chiSquare(counts, p);
    expect(result.pass, JSON.stringify(result)).toBe(true);
    p.forEach((x, i) => {
      if (x === 0) expect(counts[i]).toBe(0);
    });
  });

  it('…for prompt lookup, where the draft is a fixed token (q a point mass)', () => {
    const params = samplingParams({ temperature: 1 });
    for (const fixed of [0, 3, 6]) {
      const counts = firstTokens(params, () => ({ tokenIds: [fixed], probs: [null] }), TRIALS, [
        TARGET,
        BONUS,
      ]);
      const result = chiSquare(counts, targetProbs(TARGET, params));
      expect(result.pass, `draft ${fixed}: ${JSON.stringify(result)}`).toBe(true);
    }
  });

  it('the test has the power to catch a sampler that trusts the draft', () => {
    const params = samplingParams({ temperature: 1 });
    const draftOf = (rng: Rng): DraftTokens => ({
      tokenIds: [drawFromProbs(Q, rng.nextFloat())],
      probs: [Q],
    });
    // Accepting with min(1, p/q) computed against a uniform q is a plausible bug: wrong output.
    const wrong = (rng: Rng): DraftTokens => {
      const d = draftOf(rng);
      return { tokenIds: d.tokenIds, probs: [new Float32Array(V).fill(1 / V)] };
    };
    const counts = firstTokens(params, wrong, TRIALS, [TARGET, BONUS]);
    expect(chiSquare(counts, targetProbs(TARGET, params)).pass).toBe(false);
  });

  it('greedy accepts drafts while they are the argmax and then emits the argmax', () => {
    const params = samplingParams({ temperature: 0 });
    const verifier = new RejectionSampler(new Sampler(V), V);
    const choice = new ChoiceState(0, 1, params, []);
    const rows = new Float32Array(4 * V);
    const argmaxes = [0, 4, 7, 2];
    argmaxes.forEach((a, r) => (rows[r * V + a] = 5));
    const ids = (drafts: number[]) =>
      verifier
        .verify(rows, { tokenIds: drafts, probs: drafts.map(() => null) }, params, choice)
        .tokens.map((t) => t.tokenId);
    expect(ids([0, 4, 7])).toEqual([0, 4, 7, 2]);
    expect(ids([0, 5, 7])).toEqual([0, 4]);
    expect(ids([1, 4, 7])).toEqual([0]);
  });

  it('penalties see the drafts accepted before each verified position, and are restored', () => {
    // Without counting the accepted 3 as output, row 1 would pick 3 again.
    const params = samplingParams({
      temperature: 0,
      presencePenalty: 2,
      logprobs: true,
      topLogprobs: 2,
    });
    const verifier = new RejectionSampler(new Sampler(V), V);
    const choice = new ChoiceState(0, 1, params, []);
    const rows = new Float32Array(2 * V);
    rows[3] = 5;
    rows[V + 3] = 3;
    rows[V + 6] = 2;
    const r = verifier.verify(rows, { tokenIds: [3], probs: [null] }, params, choice);
    expect(r.tokens.map((t) => t.tokenId)).toEqual([3, 6]);
    expect(choice.outputCounts!.size).toBe(0);
    // Logprobs are the raw model's, as without speculation.
    expect(r.tokens[1].logprob!.tokenId).toBe(6);
    expect(r.tokens[1].logprob!.top[0].tokenId).toBe(3);
  });

  it('multi-token drafts: each token is accepted only after its predecessors', () => {
    const params = samplingParams({ temperature: 1 });
    const verifier = new RejectionSampler(new Sampler(V), V);
    const choice = new ChoiceState(0, 7, params, []);
    const rows = new Float32Array(3 * V);
    rows.set(TARGET, 0);
    rows.set(TARGET, V);
    rows.set(BONUS, 2 * V);
    let total = 0;
    for (let t = 0; t < 2000; t++) {
      const r = verifier.verify(rows, { tokenIds: [0, 0], probs: [null, null] }, params, choice);
      expect(r.tokens.length).toBeLessThanOrEqual(3);
      for (let j = 0; j < r.accepted; j++) expect(r.tokens[j].tokenId).toBe(0);
      if (r.accepted < 2) expect(r.tokens[r.accepted].tokenId).not.toBe(0);
      total += r.accepted;
    }
    // Acceptance of a fixed token is p(0) each time: the mean accepted count is p + p².
    const p0 = targetProbs(TARGET, params)[0];
    expect(total / 2000).toBeCloseTo(p0 + p0 * p0, 1);
  });

  it('seeded: emits exactly what plain sampling draws with the same numbers', () => {
    const params = samplingParams({ temperature: 0.8, topK: 6, seed: 77 });
    const verifier = new RejectionSampler(new Sampler(V), V);
    const plain = new Sampler(V);
    const rows = new Float32Array(4 * V);
    [TARGET, BONUS, TARGET, BONUS].forEach((r, i) => rows.set(r, i * V));
    const choice = new ChoiceState(0, 3, params, []);
    const shadow = new ChoiceState(0, 3, params, []);
    const pick = new Rng(9);
    let accepted = 0;
    for (let t = 0; t < 3000; t++) {
      // Drafts that are sometimes the draw (taken from the same upcoming numbers), sometimes not.
      const drafts = [0, 1, 2].map((j) => {
        if (pick.nextFloat() < 0.3) return Math.floor(pick.nextFloat() * V);
        const row = Float32Array.from(rows.subarray(j * V, (j + 1) * V));
        plain.process(row, params, choice);
        return drawFromLogits(row, choice.rng.peekFloat(j), new Float32Array(V));
      });
      const r = verifier.verify(
        rows,
        { tokenIds: drafts, probs: [null, null, null] },
        params,
        choice,
      );
      accepted += r.accepted;
      const expected = r.tokens.map(
        (_, j) => plain.sample(rows.subarray(j * V, (j + 1) * V), params, shadow).tokenId,
      );
      expect(r.tokens.map((x) => x.tokenId)).toEqual(expected);
      for (let j = 0; j < r.accepted; j++) expect(r.tokens[j].tokenId).toBe(drafts[j]);
    }
    expect(accepted).toBeGreaterThan(1000);
  });

  it('Rng.peekFloat(i) is the number i draws ahead, and draws nothing', () => {
    const a = new Rng(42, 3);
    const b = new Rng(42, 3);
    const peeked = [0, 1, 2, 3].map((i) => a.peekFloat(i));
    expect([0, 1, 2, 3].map(() => a.nextFloat())).toEqual(peeked);
    expect([0, 1, 2, 3].map(() => b.nextFloat())).toEqual(peeked);
  });
});
