/**
 * Verification of draft tokens against the target's logits (speculative sampling, Leviathan et
 * al. 2023 / Chen et al. 2023). Row j of the target's logits scores the position of draft j;
 * the last row follows the last draft. Every row goes through the same processor pipeline as
 * plain sampling, with the penalty state including the drafts accepted before it, so the
 * result follows exactly the distribution plain decoding would sample from:
 *
 * - greedy: a draft is accepted while it is the target's argmax; the first mismatch is replaced
 *   by the argmax (so the output is the target's greedy output);
 * - sampled: draft x (drawn from q) is accepted with probability min(1, p(x)/q(x)); on
 *   rejection a token is drawn from norm(max(0, p − q)). For prompt lookup q is a point mass on
 *   x, so acceptance is p(x) and the residual is p without x. After k acceptances the last row
 *   is sampled as usual.
 * - sampled with a seed: the seed promises the same text whatever else runs, but whether a
 *   step speculates depends on the load. So each verified row is sampled exactly as plain
 *   decoding would sample it, with the same next number of the choice's generator, and a draft
 *   is accepted only if it is that token. The text is then the same with or without
 *   speculation (the draft model draws its proposals with the same numbers, so where the two
 *   models agree their draws coincide).
 *
 * Draws come from the choice's own seeded generator, in a fixed order.
 */
import type { SamplingParams } from '../../shared/sampling.js';
import { argmax, drawFromLogits } from '../logits-processors.js';
import {
  GREEDY_TEMPERATURE,
  rawLogprobs,
  textFixedBySeed,
  type SampledToken,
  type Sampler,
} from '../sampler.js';
import type { ChoiceState } from '../sequence.js';

export interface DraftTokens {
  tokenIds: number[];
  /**
   * The distribution each draft was drawn from (vocab floats summing to 1), or null for a point
   * mass (prompt lookup, or any greedy draft).
   */
  probs: (Float32Array | null)[];
}

export interface Verification {
  /** Accepted drafts, then the target's own token. */
  tokens: SampledToken[];
  accepted: number;
}

export class RejectionSampler {
  private readonly work: Float32Array;
  private readonly scratch: Float32Array;
  private readonly p: Float64Array;

  constructor(
    private readonly sampler: Sampler,
    readonly vocabSize: number,
  ) {
    this.work = new Float32Array(vocabSize);
    this.scratch = new Float32Array(vocabSize);
    this.p = new Float64Array(vocabSize);
  }

  /** `rows` holds drafts.length + 1 rows of raw target logits, row after row. */
  verify(
    rows: Float32Array,
    draft: DraftTokens,
    params: SamplingParams,
    choice: ChoiceState,
  ): Verification {
    const V = this.vocabSize;
    const k = draft.tokenIds.length;
    if (rows.length < (k + 1) * V)
      throw new Error(`verification needs ${k + 1} rows of logits, got ${rows.length / V}`);
    const base = rows.length - (k + 1) * V;
    const greedy = params.temperature < GREEDY_TEMPERATURE;
    const seeded = textFixedBySeed(params);
    const tokens: SampledToken[] = [];
    const emit = (j: number, tokenId: number): void => {
      const row = rows.subarray(base + j * V, base + (j + 1) * V);
      tokens.push({
        tokenId,
        logprob: params.logprobs ? rawLogprobs(row, tokenId, params.topLogprobs) : null,
      });
    };
    try {
      for (let j = 0; j <= k; j++) {
        const logits = this.work;
        logits.set(rows.subarray(base + j * V, base + (j + 1) * V));
        this.sampler.process(logits, params, choice);
        if (j === k) {
          // Every draft accepted: the last row is sampled exactly as plain decoding would.
          emit(
            j,
            greedy ? argmax(logits) : drawFromLogits(logits, choice.rng.nextFloat(), this.scratch),
          );
          break;
        }
        const x = draft.tokenIds[j];
        if (greedy || seeded) {
          // One draw per emitted token, as plain sampling makes: the stream stays aligned.
          const own = greedy
            ? argmax(logits)
            : drawFromLogits(logits, choice.rng.nextFloat(), this.scratch);
          emit(j, own);
          if (own !== x) break;
        } else {
          const p = softmax(logits, this.p);
          const q = draft.probs[j];
          const qx = q === null ? 1 : q[x];
          // u < p(x)/q(x), without dividing by a tiny q(x).
          if (choice.rng.nextFloat() * qx < p[x]) {
            emit(j, x);
          } else {
            emit(j, drawResidual(p, q, x, choice.rng.nextFloat()));
            break;
          }
        }
        choice.addTentative(x);
      }
    } finally {
      choice.clearTentative();
    }
    return { tokens, accepted: tokens.length - 1 };
  }
}

/** softmax(logits) into `out` (masked tokens get 0). */
export function softmax(logits: Float32Array, out: Float64Array): Float64Array {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = logits[i] === -Infinity ? 0 : Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) out[i] /= sum;
  return out;
}

/**
 * Inverse-CDF draw from norm(max(0, p − q)); q null is a point mass on x. When p ≤ q
 * everywhere (only rounding can get here: rejection needs p(x) < q(x), so p > q somewhere) the
 * draw falls back to p.
 */
export function drawResidual(
  p: Float64Array,
  q: Float32Array | null,
  x: number,
  u: number,
): number {
  const n = p.length;
  const residual = (i: number): number => {
    const r = p[i] - (q === null ? (i === x ? 1 : 0) : q[i]);
    return r > 0 ? r : 0;
  };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += residual(i);
  const weight = sum > 0 ? residual : (i: number): number => p[i];
  if (sum <= 0) sum = 1;
  const target = u * sum;
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const w = weight(i);
    if (w === 0) continue;
    cumulative += w;
    last = i;
    if (cumulative > target) return i;
  }
  return last;
}
