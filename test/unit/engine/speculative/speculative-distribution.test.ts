/**
 * Sampled output with speculation follows the target model's distribution: whole engine runs
 * (fake models) over many seeds, the output tokens at positions 1 and 2 — the ones that go
 * through draft verification — checked against exact marginals with a chi-square test. Both
 * verifications: rejection sampling (requests without a seed; the core's seed source is a
 * counter here, so the test is repeatable) and the seeded one (drafts accepted only where they
 * are plain sampling's own draw).
 */
import { describe, expect, it } from 'vitest';
import { samplingParams, type SpeculativeMode } from '../../../../src/shared/sampling.js';
import { runUntilIdle, tokens } from '../drive.js';
import { chiSquare } from './chi-square.js';
import { hashModel, makeSpecCore, outputMarginals } from './spec-drive.js';
import { VOCAB } from '../drive.js';
import { mix, type FakeModel } from '../fake-runner.js';

/** A draft that is off everywhere, flatter and noisier than the target: p/q is rarely 1. */
const roughDraft: FakeModel = (state, vocab, out, last) => {
  hashModel(state, vocab, out, last);
  for (let v = 0; v < vocab; v++) out[v] = out[v] * 0.6 + (mix(state ^ 0x55, v) / 4294967296) * 1.5;
  return out;
};

/** Mostly alternates 4 and 9, so prompt lookup keeps finding something to propose. */
const loopModel: FakeModel = (_state, vocab, out, last) => {
  const h = mix(0x1005, last);
  for (let v = 0; v < vocab; v++) out[v] = (mix(h, v) / 4294967296) * 2;
  out[last === 4 ? 9 : 4] += 4.5;
  return out;
};

const RUNS = 3000;

async function positionCounts(
  target: FakeModel,
  prompt: number[],
  mode: SpeculativeMode,
  seeded: boolean,
  extra: Parameters<typeof makeSpecCore>[0] = {},
): Promise<{ counts: number[][]; accepted: number; proposed: number }> {
  let nextSeed = 7_000_000;
  const { core } = makeSpecCore({
    target,
    config: { maxWaiting: RUNS, maxRunning: 64, numBlocks: 1024 },
    randomSeed: () => nextSeed++,
    ...extra,
  });
  for (let i = 0; i < RUNS; i++) {
    core.addRequest({
      id: `s${i}`,
      promptTokenIds: prompt,
      params: samplingParams({
        temperature: 1,
        seed: seeded ? 1000 + i : null,
        maxTokens: 4,
        ignoreEos: true,
        speculative: mode,
      }),
    });
  }
  const c = await runUntilIdle(core);
  const counts = [new Array<number>(VOCAB).fill(0), new Array<number>(VOCAB).fill(0)];
  for (let i = 0; i < RUNS; i++) {
    const out = c.get(`s${i}`).tokens[0];
    expect(out.length).toBe(4);
    counts[0][out[1]]++;
    counts[1][out[2]]++;
  }
  const s = core.stats().speculative;
  return { counts, accepted: s.accepted, proposed: s.proposed };
}

describe('speculative sampling keeps the target distribution (engine, fake models)', () => {
  for (const seeded of [false, true]) {
    const how = seeded ? 'seeded requests' : 'rejection sampling';
    it(`draft model, ${how}`, async () => {
      const prompt = tokens(5, 6);
      const [m1, m2] = outputMarginals(hashModel, prompt);
      const { counts, accepted, proposed } = await positionCounts(
        hashModel,
        prompt,
        'draft',
        seeded,
        { draft: roughDraft },
      );
      // A seeded draft must be plain sampling's own draw: fewer of this rough draft's pass.
      expect(accepted).toBeGreaterThan(seeded ? RUNS / 5 : RUNS / 2);
      expect(accepted).toBeLessThan(proposed);
      for (const [i, m] of [m1, m2].entries()) {
        const r = chiSquare(counts[i], m);
        expect(r.pass, `position ${i + 1}: ${JSON.stringify(r)}`).toBe(true);
      }
    });

    it(`prompt lookup, ${how}`, async () => {
      // A repetitive prompt, so lookup always has something to propose.
      const prompt = [4, 9, 4, 9, 4, 9, 4];
      const [m1, m2] = outputMarginals(loopModel, prompt);
      const { counts, accepted, proposed } = await positionCounts(
        loopModel,
        prompt,
        'lookup',
        seeded,
        { speculative: { lookupMinN: 1 } },
      );
      expect(proposed).toBeGreaterThan(RUNS / 2);
      expect(accepted).toBeGreaterThan(RUNS / 5);
      for (const [i, m] of [m1, m2].entries()) {
        const r = chiSquare(counts[i], m);
        expect(r.pass, `position ${i + 1}: ${JSON.stringify(r)}`).toBe(true);
      }
    });
  }
});
