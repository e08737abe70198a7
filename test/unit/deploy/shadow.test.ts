import { describe, expect, it } from 'vitest';
import { tokenAgreement } from '../../../src/deploy/shadow.js';

describe('shadow token agreement', () => {
  it('counts position-wise matches over the longer sequence', () => {
    expect(tokenAgreement([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(tokenAgreement([], [])).toBe(1);
    expect(tokenAgreement([1, 2, 3, 4], [1, 9, 3, 4])).toBe(0.75);
    expect(tokenAgreement([1, 2], [1, 2, 3, 4])).toBe(0.5);
    expect(tokenAgreement([5, 6], [])).toBe(0);
  });
});
