/**
 * How many draft tokens to propose. Each sequence keeps a decaying estimate of the chance that
 * a draft token is accepted (α); with per-draft cost c relative to one plain decode step, a
 * step proposing k drafts yields (1 − α^(k+1)) / (1 − α) tokens for 1 + k·c cost, and k is the
 * value that maximizes tokens per cost.
 */

/** Weight of the past per observed draft: the estimate follows roughly the last 16 trials. */
const DECAY = 0.94;
/** The prior counts as this many trials. */
const PRIOR_TRIALS = 4;

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
}

/** Expected tokens per step with k drafts accepted independently with probability alpha. */
export function expectedTokens(alpha: number, k: number): number {
  if (alpha >= 1) return k + 1;
  return (1 - alpha ** (k + 1)) / (1 - alpha);
}

export function bestNumDrafts(
  alpha: number,
  costPerDraft: number,
  minDrafts: number,
  maxDrafts: number,
): number {
  let best = minDrafts;
  let bestValue = -Infinity;
  for (let k = minDrafts; k <= maxDrafts; k++) {
    const value = expectedTokens(alpha, k) / (1 + k * costPerDraft);
    if (value > bestValue * (1 + 1e-9)) {
      best = k;
      bestValue = value;
    }
  }
  return best;
}
