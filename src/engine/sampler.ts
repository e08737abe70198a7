/**
 * Turns one row of logits into one token for one choice: logprobs from the raw row, then the
 * ordered processor pipeline, then greedy argmax or a seeded draw. Scratch buffers are reused
 * across calls; the sampler is used by one thread only.
 */
import type { CoreTokenLogprob, CoreTopLogprob } from './core-types.js';
import type { SamplingParams } from '../shared/sampling.js';
import type { ChoiceState } from './sequence.js';
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
  logSumExp,
  topIds,
} from './logits-processors.js';

/** Below this temperature sampling is greedy: dividing by it would overflow float32 logits. */
export const GREEDY_TEMPERATURE = 1e-5;

/**
 * Sampled with a seed: the seed fixes the text, whatever else runs and whether speculation does
 * (it switches with the load). Verification then accepts a draft only where it is the token
 * plain sampling draws with the same random number (see RejectionSampler.verify).
 */
export function textFixedBySeed(params: SamplingParams): boolean {
  return params.seed !== null && params.temperature >= GREEDY_TEMPERATURE;
}

export interface SampledToken {
  tokenId: number;
  logprob: CoreTokenLogprob | null;
}

export class Sampler {
  private readonly work: Float32Array;
  private readonly scratch: Float32Array;
  private readonly keys: Float64Array;

  constructor(readonly vocabSize: number) {
    this.work = new Float32Array(vocabSize);
    this.scratch = new Float32Array(vocabSize);
    this.keys = new Float64Array(vocabSize);
  }

  /** `row` is the model's raw logits for the position that predicts the next token. */
  sample(row: Float32Array, params: SamplingParams, choice: ChoiceState): SampledToken {
    if (row.length !== this.vocabSize) {
      throw new Error(`logits row has ${row.length} entries, vocab is ${this.vocabSize}`);
    }
    if (params.temperature < GREEDY_TEMPERATURE && !shapesGreedy(params, choice)) {
      // Plain greedy reads the model's row as it is: no copy of a vocabulary's worth of floats
      // per row and step.
      const tokenId = argmax(row);
      return { tokenId, logprob: this.logprob(row, tokenId, params) };
    }
    let tokenId: number;
    const logits = this.work;
    logits.set(row);
    this.process(logits, params, choice);
    if (params.temperature < GREEDY_TEMPERATURE) {
      tokenId = argmax(logits);
    } else {
      // Always one draw per token, so a choice's stream stays aligned whatever was masked.
      const u = choice.rng.nextFloat();
      tokenId = drawFromLogits(logits, u, this.scratch);
    }
    return { tokenId, logprob: this.logprob(row, tokenId, params) };
  }

  private logprob(row: Float32Array, tokenId: number, params: SamplingParams) {
    return params.logprobs ? rawLogprobs(row, tokenId, params.topLogprobs) : null;
  }

  /** The processor pipeline, in its one fixed order. Greedy skips the distribution shapers. */
  process(logits: Float32Array, params: SamplingParams, choice: ChoiceState): void {
    applyLogitBias(logits, params.logitBias);
    if (choice.seenTokens !== null && params.repetitionPenalty !== 1) {
      applyRepetitionPenalty(logits, choice.seenTokens, params.repetitionPenalty);
    }
    if (choice.outputCounts !== null) {
      applyPresenceFrequencyPenalties(
        logits,
        choice.outputCounts,
        params.presencePenalty,
        params.frequencyPenalty,
      );
    }
    if (params.temperature < GREEDY_TEMPERATURE) return;
    if (params.temperature !== 1) applyTemperature(logits, params.temperature);
    if (params.topK > 0) applyTopK(logits, params.topK, this.scratch);
    if (params.topP < 1) applyTopP(logits, params.topP, this.keys);
    if (params.minP > 0) applyMinP(logits, params.minP);
  }
}

/** True when a processor that still applies under greedy decoding would change the row. */
function shapesGreedy(params: SamplingParams, choice: ChoiceState): boolean {
  if (
    (choice.seenTokens !== null && params.repetitionPenalty !== 1) ||
    choice.outputCounts !== null
  )
    return true;
  for (const key in params.logitBias) if (Object.hasOwn(params.logitBias, key)) return true;
  return false;
}

/** Log-softmax of the raw logits for the chosen token and the top alternatives. */
export function rawLogprobs(
  row: Float32Array,
  tokenId: number,
  topCount: number,
): CoreTokenLogprob {
  const lse = logSumExp(row);
  const top: CoreTopLogprob[] = topIds(row, topCount).map((id) => ({
    tokenId: id,
    logprob: row[id] - lse,
  }));
  return { tokenId, logprob: row[tokenId] - lse, top };
}
