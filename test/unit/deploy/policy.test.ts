import { describe, expect, it } from 'vitest';
import { evaluatePolicy, percentile, type WindowStats } from '../../../src/deploy/policy.js';
import type { RolloutPolicy } from '../../../src/shared/admin-api.js';

const policy: RolloutPolicy = {
  maxErrorRate: 0.05,
  maxTtftRatio: 2,
  minRequests: 20,
  autoPromoteAfter: 0,
};
const stats = (
  requests: number,
  errors: number,
  ttftP95: number | null,
  ttftSamples = requests - errors,
): WindowStats => ({
  requests,
  errors,
  ttftP95,
  ttftSamples,
});

describe('rollout policy', () => {
  it('waits for the minimum number of candidate requests', () => {
    expect(evaluatePolicy(policy, stats(19, 19, null), stats(100, 0, 10)).action).toBe('continue');
  });

  it('rolls back on an error rate above the limit and says why', () => {
    const d = evaluatePolicy(policy, stats(20, 2, 10), stats(100, 0, 10));
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/error rate 10\.0% \(2 of 20\) exceeds 5\.0%/);
    expect(evaluatePolicy(policy, stats(20, 1, 10), stats(100, 0, 10)).action).toBe('continue');
  });

  it('rolls back when p95 TTFT exceeds the ratio to stable', () => {
    const d = evaluatePolicy(policy, stats(20, 0, 250), stats(100, 0, 100));
    expect(d.action).toBe('rollback');
    expect(d.reason).toMatch(/p95 time to first token 250 ms exceeds 2× stable's 100 ms/);
    expect(evaluatePolicy(policy, stats(20, 0, 199), stats(100, 0, 100)).action).toBe('continue');
  });

  it('does not compare latency before stable has samples of its own', () => {
    expect(evaluatePolicy(policy, stats(20, 0, 900), stats(3, 0, 10)).action).toBe('continue');
  });

  it('promotes after N healthy requests when asked to, and never for shadows', () => {
    const auto = { ...policy, autoPromoteAfter: 30 };
    expect(evaluatePolicy(auto, stats(29, 0, 10), stats(100, 0, 10)).action).toBe('continue');
    expect(evaluatePolicy(auto, stats(30, 0, 10), stats(100, 0, 10)).action).toBe('promote');
    expect(
      evaluatePolicy(auto, stats(30, 0, 10), stats(100, 0, 10), { allowPromote: false }).action,
    ).toBe('continue');
  });

  it('computes nearest-rank percentiles', () => {
    expect(percentile([], 95)).toBeNull();
    expect(percentile([5], 95)).toBe(5);
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 95)).toBe(95);
    expect(percentile(xs, 50)).toBe(50);
  });
});
