/**
 * Speculative decoding on the shipped models, through the real engine (worker thread, paged KV,
 * ONNX Runtime): orchard-chat-1 as the target, orchard-draft as the draft model.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/engine-host.js';
import type { LocalEngine } from '../../src/engine/engine-replicas.js';
import { ReferenceModel } from '../../src/engine/reference-loop.js';
import { samplingParams, type SpeculativeMode } from '../../src/shared/sampling.js';
import { chiSquare } from '../unit/engine/speculative/chi-square.js';
import { CHAT_MODEL, chatPrompt, collect, engineOptions } from './engine-helpers.js';

const DRAFT_MODEL =
  process.env.ORCHARD_TEST_DRAFT_MODEL ?? path.join(path.dirname(CHAT_MODEL), 'orchard-draft');

let engine: LocalEngine;

beforeAll(async () => {
  engine = await loadEngine(
    CHAT_MODEL,
    engineOptions({
      draftModelDir: DRAFT_MODEL,
      // Make the draft model propose even where it would not pay on this machine, so every
      // test exercises it rather than the adaptive choice to decode plainly.
      speculativeDraftCost: { perStep: 0, perDraft: 0.1 },
      speculativeDraftUsesLookup: false,
      // Waves of up to 12 streams below: keep speculating at that batch size.
      speculativeMaxRunning: 64,
    }),
  );
});

afterAll(async () => {
  await engine?.unload();
});

async function greedyTokens(
  prompt: number[],
  mode: SpeculativeMode,
  maxTokens: number,
  ignoreEos = false,
) {
  const c = await collect(
    engine.generate({
      promptTokenIds: prompt,
      params: samplingParams({ temperature: 0, maxTokens, ignoreEos, speculative: mode }),
    }),
  );
  return c.tokens[0] ?? [];
}

describe('speculative decoding on the shipped models', () => {
  it('loads the draft model next to the target', () => {
    expect(engine.info.draftModelDir).toBe(path.resolve(DRAFT_MODEL));
  });

  it('greedy output is identical with and without speculation, for 50 prompts and both proposers', async () => {
    const prompts = Array.from({ length: 50 }, (_, i) =>
      chatPrompt(engine.tokenizer, 1000 + i, 6 + (i % 13)),
    );
    const maxTokens = (i: number) => 16 + (i % 3) * 8;
    // Four prompts at a time, each in all three modes: speculating and plain sequences share
    // steps.
    for (let at = 0; at < prompts.length; at += 4) {
      const wave = prompts.slice(at, at + 4).map((p, j) => {
        const n = maxTokens(at + j);
        // Half of them run on past the end-of-sequence token, into longer, loopier text.
        const past = (at + j) % 2 === 0;
        return Promise.all([
          greedyTokens(p, 'off', n, past),
          greedyTokens(p, 'draft', n, past),
          greedyTokens(p, 'lookup', n, past),
        ]);
      });
      for (const [j, [off, draft, lookup]] of (await Promise.all(wave)).entries()) {
        expect(off.length, `prompt ${at + j}`).toBeGreaterThan(0);
        expect(draft, `prompt ${at + j}, draft model`).toEqual(off);
        expect(lookup, `prompt ${at + j}, prompt lookup`).toEqual(off);
      }
    }
    const stats = await engine.refreshStats();
    expect(stats.speculative.proposed).toBeGreaterThan(200);
    expect(stats.speculative.accepted).toBeGreaterThan(0);
    expect(stats.speculative.accepted).toBeLessThan(stats.speculative.proposed);
    expect(stats.speculative.meanAcceptedLength).toBeGreaterThan(1);
    // Rejected drafts left nothing behind.
    expect(stats.running).toBe(0);
    expect(stats.kv.usedBlocks).toBe(0);
  });

  it('as shipped (draft by default, adaptive, lookup proposals too): same greedy output', async () => {
    const shipped = await loadEngine(
      CHAT_MODEL,
      engineOptions({ speculative: 'draft', draftModelDir: DRAFT_MODEL }),
    );
    try {
      for (let i = 0; i < 6; i++) {
        const prompt = chatPrompt(engine.tokenizer, 2000 + i, 10);
        const want = await greedyTokens(prompt, 'off', 64);
        const c = await collect(
          shipped.generate({
            promptTokenIds: prompt,
            params: samplingParams({ temperature: 0, maxTokens: 64 }),
          }),
        );
        expect(c.tokens[0], `prompt ${i}`).toEqual(want);
      }
      const stats = await shipped.refreshStats();
      expect(stats.speculative.verifications).toBeGreaterThan(0);
      expect(stats.kv.usedBlocks).toBe(0);
    } finally {
      await shipped.unload();
    }
  });

  it('a seed fixes the sampled text: the same with speculation off, draft or lookup', async () => {
    const before = (await engine.refreshStats()).speculative;
    const sample = (i: number, speculative: SpeculativeMode) =>
      collect(
        engine.generate({
          promptTokenIds: chatPrompt(engine.tokenizer, 3000 + i, 8),
          params: samplingParams({
            temperature: 0.7,
            topP: 0.9,
            seed: 31 + i,
            maxTokens: 40,
            ignoreEos: true,
            n: i === 0 ? 2 : 1,
            speculative,
          }),
        }),
      );
    for (let i = 0; i < 6; i++) {
      const [off, draft, lookup] = await Promise.all([
        sample(i, 'off'),
        sample(i, 'draft'),
        sample(i, 'lookup'),
      ]);
      expect(draft.tokens, `seed ${31 + i}, draft model`).toEqual(off.tokens);
      expect(lookup.tokens, `seed ${31 + i}, prompt lookup`).toEqual(off.tokens);
    }
    const after = (await engine.refreshStats()).speculative;
    expect(after.accepted - before.accepted).toBeGreaterThan(10);
  });

  it('sampled output follows the target model: the token after the first, by chi-square', async () => {
    const prompt = chatPrompt(engine.tokenizer, 77, 10);
    // Exact marginal of output position 1 from the plain model: Σ_a p(a) p(· | a).
    const reference = await ReferenceModel.open(CHAT_MODEL, { threads: 2 });
    const V = reference.vocabSize;
    const marginal = new Float64Array(V);
    try {
      const first = softmax(await lastLogits(reference, prompt));
      for (let a = 0; a < V; a++) {
        if (first[a] < 2e-4) continue; // pooled: below 1 expected draw in 5000
        const next = softmax(await lastLogits(reference, [...prompt, a]));
        for (let b = 0; b < V; b++) marginal[b] += first[a] * next[b];
      }
    } finally {
      await reference.close();
    }
    const RUNS = 1200;
    const counts = new Array<number>(V).fill(0);
    const before = (await engine.refreshStats()).speculative;
    for (let at = 0; at < RUNS; at += 8) {
      const wave = Array.from({ length: 8 }, (_, j) =>
        collect(
          engine.generate({
            promptTokenIds: prompt,
            params: samplingParams({
              temperature: 1,
              seed: 5000 + at + j,
              maxTokens: 3,
              ignoreEos: true,
              speculative: 'draft',
            }),
          }),
        ),
      );
      for (const c of await Promise.all(wave)) counts[c.tokens[0][1]]++;
    }
    const after = (await engine.refreshStats()).speculative;
    expect(after.proposed - before.proposed).toBeGreaterThanOrEqual(RUNS);
    expect(after.accepted - before.accepted).toBeGreaterThan(RUNS / 10);
    const r = chiSquare(counts, marginal);
    expect(r.pass, JSON.stringify(r)).toBe(true);
  });
});

async function lastLogits(model: ReferenceModel, tokens: number[]): Promise<Float32Array> {
  const all = await model.logits(tokens);
  return all.subarray(all.length - model.vocabSize);
}

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}
