/**
 * Canary health: compares what the candidate did since it started with what stable did over the
 * same period, and decides to keep going, roll back or promote. Pure: the rollout controller
 * feeds it live outcomes and acts on the decision.
 */
import type { RolloutPolicy } from '../shared/admin-api.js';
import { InvalidRequestError } from '../shared/errors.js';

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

export function checkWeight(weight: unknown): asserts weight is number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0 || weight > 100) {
    throw new InvalidRequestError(
      `weight must be a percentage greater than 0 and at most 100; got ${String(weight)}.`,
      'weight',
      'invalid_weight',
    );
  }
}

export function checkPolicy(p: RolloutPolicy): void {
  const bad = (field: string, rule: string) =>
    new InvalidRequestError(`policy.${field} must be ${rule}.`, field, 'invalid_policy');
  if (!(p.maxErrorRate >= 0 && p.maxErrorRate <= 1)) throw bad('maxErrorRate', 'between 0 and 1');
  if (!(p.maxTtftRatio >= 1)) throw bad('maxTtftRatio', 'at least 1');
  if (!(Number.isInteger(p.minRequests) && p.minRequests >= 1))
    throw bad('minRequests', 'a whole number of at least 1');
  if (!(Number.isInteger(p.autoPromoteAfter) && p.autoPromoteAfter >= 0))
    throw bad('autoPromoteAfter', 'a whole number of at least 0');
}

export function describePolicy(p: RolloutPolicy): string {
  return `max error rate ${(p.maxErrorRate * 100).toFixed(1)}%, max p95 TTFT ${p.maxTtftRatio}× stable, min ${p.minRequests} requests, auto-promote ${p.autoPromoteAfter > 0 ? `after ${p.autoPromoteAfter}` : 'off'}`;
}
