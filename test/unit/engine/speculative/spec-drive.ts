/** Engine cores with speculative decoding over fake target and draft models. */
import type { EngineCoreConfig } from '../../../../src/engine/core-types.js';
import { EngineCore } from '../../../../src/engine/engine-core.js';
import type { SpeculativeConfig } from '../../../../src/engine/speculative/speculator.js';
import { config, VOCAB } from '../drive.js';
import { fakeLogits, FakeRunner, mix, prefixState, type FakeModel } from '../fake-runner.js';

/** The fake runner's default model. */
export const hashModel: FakeModel = (state, vocab, out) => fakeLogits(state, vocab, out);

/**
 * A model that looks only at the last token: greedy output falls into a short loop, the case
 * prompt lookup is for.
 */
export const bigramModel: FakeModel = (_state, vocab, out, last) =>
  fakeLogits(mix(0x51ed, last), vocab, out);

/**
 * A draft of `target` that agrees with it except at about `disagree` of all prefixes, where it
 * strongly prefers another token.
 */
export function draftOf(target: FakeModel, disagree: number): FakeModel {
  return (state, vocab, out, last) => {
    target(state, vocab, out, last);
    if (mix(state, 0xd7a1) % 1000 < disagree * 1000) out[mix(state, 0x77) % vocab] += 8;
    return out;
  };
}

export interface SpecCoreOptions {
  config?: Partial<EngineCoreConfig>;
  target?: FakeModel;
  /** null: no draft model loaded. */
  draft?: FakeModel | null;
  speculative?: Partial<SpeculativeConfig>;
  vocab?: number;
  /** Seeds for requests without one (default: crypto). */
  randomSeed?: () => number;
}

export function makeSpecCore(o: SpecCoreOptions = {}): {
  core: EngineCore;
  runner: FakeRunner;
  draftRunner: FakeRunner | null;
} {
  const cfg = config(o.config);
  const vocab = o.vocab ?? VOCAB;
  const target = o.target ?? hashModel;
  const runner = new FakeRunner(vocab, cfg.blockSize, cfg.numBlocks, { model: target });
  const draft = o.draft === undefined ? draftOf(target, 0.25) : o.draft;
  const draftRunner =
    draft === null
      ? null
      : new FakeRunner(vocab, cfg.blockSize, cfg.numBlocks, {
          model: draft,
          tolerateIdenticalWrites: true,
        });
  const core = new EngineCore(runner, cfg, {
    draftRunner,
    randomSeed: o.randomSeed,
    // Cheap drafts, so the mechanism gets exercised whatever this machine's tuning says.
    speculative: {
      maxRunning: 1_000_000,
      draftCost: { perStep: 0, perDraft: 0.3 },
      ...o.speculative,
    },
  });
  return { core, runner, draftRunner };
}

/** Greedy continuation computed straight from a fake model. */
export function greedyWith(
  model: FakeModel,
  prompt: readonly number[],
  maxTokens: number,
  vocab = VOCAB,
): number[] {
  const tokens = prompt.slice();
  const logits = new Float32Array(vocab);
  const out: number[] = [];
  while (out.length < maxTokens) {
    model(prefixState(tokens), vocab, logits, tokens[tokens.length - 1]);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[v] > logits[best]) best = v;
    out.push(best);
    tokens.push(best);
  }
  return out;
}

/** softmax of the fake model's logits after `tokens` (temperature 1, no filters). */
export function nextProbs(
  model: FakeModel,
  tokens: readonly number[],
  vocab = VOCAB,
): Float64Array {
  const logits = model(
    prefixState(tokens),
    vocab,
    new Float32Array(vocab),
    tokens[tokens.length - 1],
  );
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = new Float64Array(vocab);
  let sum = 0;
  for (let i = 0; i < vocab; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < vocab; i++) p[i] /= sum;
  return p;
}

/**
 * Exact marginal distribution of the output tokens at positions 1 and 2 (0-based) when
 * sampling from `model` at temperature 1 after `prompt`.
 */
export function outputMarginals(
  model: FakeModel,
  prompt: readonly number[],
  vocab = VOCAB,
): [Float64Array, Float64Array] {
  const m1 = new Float64Array(vocab);
  const m2 = new Float64Array(vocab);
  const p0 = nextProbs(model, prompt, vocab);
  for (let a = 0; a < vocab; a++) {
    const pa = nextProbs(model, [...prompt, a], vocab);
    for (let b = 0; b < vocab; b++) {
      const pab = p0[a] * pa[b];
      m1[b] += pab;
      if (pab < 1e-9) continue;
      const pb = nextProbs(model, [...prompt, a, b], vocab);
      for (let c = 0; c < vocab; c++) m2[c] += pab * pb[c];
    }
  }
  return [m1, m2];
}
