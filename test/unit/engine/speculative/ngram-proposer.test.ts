import { describe, expect, it } from 'vitest';
import { proposeByLookup } from '../../../../src/engine/speculative/ngram-proposer.js';

describe('proposeByLookup', () => {
  it('proposes what followed the most recent earlier occurrence of the suffix', () => {
    // suffix [7, 8] occurred at 1 (followed by 9, 4) and at 5 (followed by 5, 6)
    const tokens = [1, 7, 8, 9, 4, 7, 8, 5, 6, 3, 7, 8];
    expect(proposeByLookup(tokens, 2, 2, 4)).toEqual([5, 6]);
    expect(proposeByLookup(tokens, 1, 2, 4)).toEqual([5]);
  });

  it('prefers the longest matching n-gram', () => {
    // [3, 7, 8] matches at 0 (followed by 1); the bigram [7, 8] alone would match later at 5 (→ 2)
    const tokens = [3, 7, 8, 1, 0, 7, 8, 2, 9, 3, 7, 8];
    expect(proposeByLookup(tokens, 1, 2, 3)).toEqual([1]);
    expect(proposeByLookup(tokens, 1, 2, 2)).toEqual([2]);
  });

  it('continues a loop through its own proposal', () => {
    const tokens = [5, 1, 2, 3, 1, 2, 3, 1, 2];
    expect(proposeByLookup(tokens, 7, 2, 3)).toEqual([3, 1, 2, 3, 1, 2, 3]);
  });

  it('proposes nothing without a match of at least minN tokens, or when k is 0', () => {
    expect(proposeByLookup([1, 2, 3, 4, 5, 1], 3, 2, 4)).toEqual([]);
    expect(proposeByLookup([1, 2, 3, 4, 5, 1], 3, 1, 4)).toEqual([2, 3, 4]);
    expect(proposeByLookup([1, 2, 1, 2], 0, 1, 4)).toEqual([]);
    expect(proposeByLookup([4], 3, 1, 4)).toEqual([]);
  });
});
