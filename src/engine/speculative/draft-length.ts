/**
 * How many draft tokens to propose. Each sequence keeps a decaying estimate of the chance that
 * a draft token is accepted (α). Relative to one plain decode step, a step proposing k drafts
 * yields (1 − α^(k+1)) / (1 − α) tokens for 1 + s + k·c cost (s: a speculative step's fixed
 * cost, c: per draft), and k is the value that maximizes tokens per cost — or 0, plain
 * decoding, when no k pays.
 */

/** Weight of the past per observed draft: the estimate follows roughly the last 16 trials. */
const DECAY = 0.94;
/** The prior counts as this many trials. */
const PRIOR_TRIALS = 4;
/**
 * A sequence whose drafts do not pay speculates again after this many plain steps: its text
 * may have become easier to predict, and the estimate only learns from verifications. Each
 * probe that changes nothing doubles the wait, up to MAX_PROBE_EVERY.
 */
export const PROBE_EVERY = 16;
const MAX_PROBE_EVERY = 256;

export class AcceptanceEstimate {
  private successes: number;
  private trials: number;

  constructor(prior: number) {
    this.successes = prior * PRIOR_TRIALS;
    this.trials = PRIOR_TRIALS;
  }

  /** One verification: `accepted` of `proposed` drafts (acceptance stops at the first rejection). */
  record(accepted: number, proposed: number): void {
    if (proposed <= 0) return;
    const trials = accepted < proposed ? accepted + 1 : accepted;
    const keep = DECAY ** trials;
    this.successes = this.successes * keep + accepted;
    this.trials = this.trials * keep + trials;
  }

  get rate(): number {
    return this.successes / this.trials;
  }

  private idle = 0;
  private probeEvery = PROBE_EVERY;

  /** Called on each step that skips speculation; true when it is time to try again. */
  probe(): boolean {
    if (++this.idle < this.probeEvery) return false;
    this.idle = 0;
    this.probeEvery = Math.min(2 * this.probeEvery, MAX_PROBE_EVERY);
    return true;
  }

  /** Speculation pays again: the next time it stops, probe soon. */
  paying(): void {
    this.idle = 0;
    this.probeEvery = PROBE_EVERY;
  }
}

/** Expected tokens per step with k drafts accepted independently with probability alpha. */
export function expectedTokens(alpha: number, k: number): number {
  if (alpha >= 1) return k + 1;
  return (1 - alpha ** (k + 1)) / (1 - alpha);
}

/** Cost of a speculative step relative to a plain decode step. */
export interface DraftCost {
  /** Paid once when a step speculates at all (e.g. switching to the draft model and back). */
  perStep: number;
  /** Per draft token: producing it, and one more position in the target's verification. */
  perDraft: number;
}

/** Expected tokens per unit of cost when proposing k drafts (k = 0: plain decoding, 1). */
export function draftValue(alpha: number, k: number, cost: DraftCost): number {
  return k === 0 ? 1 : expectedTokens(alpha, k) / (1 + cost.perStep + k * cost.perDraft);
}

/**
 * The draft length with the most tokens per cost, or 0 when no length in minDrafts..maxDrafts
 * beats plain decoding.
 */
export function bestNumDrafts(
  alpha: number,
  cost: DraftCost,
  minDrafts: number,
  maxDrafts: number,
): number {
  let best = 0;
  let bestValue = 1;
  for (let k = minDrafts; k <= maxDrafts; k++) {
    const value = draftValue(alpha, k, cost);
    if (value > bestValue * (1 + 1e-9)) {
      best = k;
      bestValue = value;
    }
  }
  return best;
}
