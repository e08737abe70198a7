import { describe, expect, it } from 'vitest';
import { WORDS, percentile, wordSource } from '../../../bench/bench-util.js';

const words = (seed: number, n: number) => Array.from({ length: n }, wordSource(seed));

describe('benchmark prompts', () => {
  it('gives every seed its own words from the first ones on', () => {
    // The seeds the engine benchmark uses: system prompts, questions, stream prompts.
    const seeds = [
      ...Array.from({ length: 200 }, (_, i) => 4242 + i),
      7777,
      7778,
      ...Array.from({ length: 4000 }, (_, i) => 60_000 + i),
      ...Array.from({ length: 4000 }, (_, i) => 90_000 + i),
    ];
    const starts = new Set(seeds.map((s) => words(s, 8).join(' ')));
    expect(starts.size).toBe(seeds.length);
  });

  it('is the same text for the same seed, and uses the whole word list', () => {
    expect(words(4244, 64)).toEqual(words(4244, 64));
    expect(new Set(words(1, 5000)).size).toBe(new Set(WORDS).size);
  });

  it('takes the nearest-rank percentile', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 50)).toBeNaN();
  });
});
