/**
 * Canary health: compares what the candidate did since it started with what stable did over the
 * same period, and decides to keep going, roll back or promote. Pure: the rollout controller
 * feeds it live outcomes and acts on the decision.
 */
import type { RolloutPolicy } from '../shared/admin-api.js';

export interface WindowStats {
  requests: number;
  errors: number;
  /** p95 time to first token (ms) over successful requests; null without samples. */
  ttftP95: number | null;
  ttftSamples: number;
}

export type PolicyDecision =
  | { action: 'continue'; reason: string }
  | { action: 'rollback'; reason: string }
  | { action: 'promote'; reason: string };

/** Stable needs a few TTFT samples of its own before a latency comparison means anything. */
export const MIN_STABLE_TTFT_SAMPLES = 5;

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

export function evaluatePolicy(
  policy: RolloutPolicy,
  candidate: WindowStats,
  stable: WindowStats,
  options: { allowPromote: boolean } = { allowPromote: true },
): PolicyDecision {
  if (candidate.requests < Math.max(1, policy.minRequests)) {
    return {
      action: 'continue',
      reason: `waiting for ${policy.minRequests} candidate requests (${candidate.requests} so far)`,
    };
  }
  const errorRate = candidate.errors / candidate.requests;
  if (errorRate > policy.maxErrorRate) {
    return {
      action: 'rollback',
      reason: `error rate ${pct(errorRate)} (${candidate.errors} of ${candidate.requests}) exceeds ${pct(policy.maxErrorRate)}`,
    };
  }
  if (
    candidate.ttftP95 !== null &&
    stable.ttftP95 !== null &&
    stable.ttftSamples >= MIN_STABLE_TTFT_SAMPLES &&
    stable.ttftP95 > 0 &&
    candidate.ttftP95 > stable.ttftP95 * policy.maxTtftRatio
  ) {
    return {
      action: 'rollback',
      reason: `p95 time to first token ${candidate.ttftP95.toFixed(0)} ms exceeds ${policy.maxTtftRatio}× stable's ${stable.ttftP95.toFixed(0)} ms`,
    };
  }
  const healthy = candidate.requests - candidate.errors;
  if (options.allowPromote && policy.autoPromoteAfter > 0 && healthy >= policy.autoPromoteAfter) {
    return {
      action: 'promote',
      reason: `${healthy} healthy candidate requests (error rate ${pct(errorRate)}${candidate.ttftP95 !== null ? `, p95 TTFT ${candidate.ttftP95.toFixed(0)} ms` : ''})`,
    };
  }
  return { action: 'continue', reason: 'healthy' };
}

/** Nearest-rank percentile of unsorted samples; null when empty. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}
