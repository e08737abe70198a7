import { describe, expect, it } from 'vitest';
import {
  AcceptanceEstimate,
  bestNumDrafts,
  expectedTokens,
  PROBE_EVERY,
} from '../../../../src/engine/speculative/draft-length.js';

describe('draft length', () => {
  it('expected tokens per step follow the truncated geometric series', () => {
    expect(expectedTokens(0, 5)).toBe(1);
    expect(expectedTokens(1, 5)).toBe(6);
    expect(expectedTokens(0.5, 2)).toBeCloseTo(1 + 0.5 + 0.25, 12);
  });

  it('speculates deeper as acceptance rises and as drafts get cheaper', () => {
    const cost = (perDraft: number, perStep = 0) => ({ perStep, perDraft });
    const ks = [0.1, 0.5, 0.7, 0.9, 0.99].map((a) => bestNumDrafts(a, cost(0.3), 1, 8));
    expect(ks[0]).toBe(0); // drafts that rarely land do not pay: plain decoding
    expect(ks[1]).toBeGreaterThanOrEqual(1);
    for (let i = 1; i < ks.length; i++) expect(ks[i]).toBeGreaterThanOrEqual(ks[i - 1]);
    expect(ks.at(-1)).toBe(8);
    expect(bestNumDrafts(0.7, cost(0.05), 1, 8)).toBeGreaterThan(
      bestNumDrafts(0.7, cost(0.5), 1, 8),
    );
  });

  it('speculates only when it pays for its cost', () => {
    const cost = (perDraft: number, perStep = 0) => ({ perStep, perDraft });
    expect(bestNumDrafts(0.3, cost(0.45), 1, 8)).toBe(0);
    expect(bestNumDrafts(0.3, cost(0.1), 1, 8)).toBeGreaterThan(0);
    // A fixed cost per speculative step calls for deeper speculation, or none.
    expect(bestNumDrafts(0.6, cost(0.35, 0.6), 1, 8)).toBe(0);
    expect(bestNumDrafts(0.85, cost(0.35, 0.6), 1, 8)).toBeGreaterThan(
      bestNumDrafts(0.85, cost(0.35), 1, 8),
    );
  });

  it('a sequence left without speculation probes again, less and less often', () => {
    const e = new AcceptanceEstimate(0.1);
    const when = (steps: number) =>
      Array.from({ length: steps }, () => e.probe()).flatMap((p, i) => (p ? [i + 1] : []));
    expect(when(PROBE_EVERY * 7)).toEqual([PROBE_EVERY, 3 * PROBE_EVERY, 7 * PROBE_EVERY]);
    e.paying();
    expect(when(PROBE_EVERY)).toEqual([PROBE_EVERY]);
  });

  it('the acceptance estimate follows recent verifications', () => {
    const e = new AcceptanceEstimate(0.5);
    expect(e.rate).toBe(0.5);
    for (let i = 0; i < 30; i++) e.record(4, 4);
    expect(e.rate).toBeGreaterThan(0.95);
    for (let i = 0; i < 40; i++) e.record(0, 4);
    expect(e.rate).toBeLessThan(0.1);
    e.record(0, 0);
    expect(e.rate).toBeLessThan(0.1);
  });
});
