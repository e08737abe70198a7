import { describe, expect, it } from 'vitest';
import { DECODE_SLOTS, planGroups, splitDecodes } from '../../../src/engine/batch-groups.js';
import type { RunnerSequence } from '../../../src/engine/runner-types.js';

function seq(seqId: number, len: number, start: number): RunnerSequence {
  return {
    seqId,
    tokenIds: new Array<number>(len).fill(3),
    startPosition: start,
    blockTable: [],
    numLogits: 1,
  };
}

const ids = (groups: RunnerSequence[][]) => groups.map((g) => g.map((s) => s.seqId));

describe('planGroups', () => {
  it('runs every decode in one call and keeps prefill chunks out of it', () => {
    const groups = planGroups([seq(0, 1, 10), seq(1, 100, 0), seq(2, 1, 500), seq(3, 1, 3)], true);
    expect(ids(groups)).toEqual([[0, 2, 3], [1]]);
  });

  it('groups prefill chunks of similar length and past, splits the rest', () => {
    const groups = planGroups(
      [seq(0, 500, 0), seq(1, 480, 0), seq(2, 12, 0), seq(3, 10, 0), seq(4, 470, 900)],
      true,
    );
    expect(ids(groups)).toEqual([[0, 1], [4], [2, 3]]);
  });

  it('without position_ids only rows of the same start and length share a call', () => {
    const groups = planGroups([seq(0, 1, 10), seq(1, 1, 10), seq(2, 1, 11), seq(3, 5, 10)], false);
    expect(ids(groups)).toEqual([[0, 1], [2], [3]]);
  });
});

describe('splitDecodes', () => {
  it('keeps a decode batch whole while rows × context fit the slot budget', () => {
    const rows = Array.from({ length: 64 }, (_, i) => seq(i, 1, 50 + i));
    expect(splitDecodes(rows)).toEqual([rows]);
  });

  it('splits a long-context decode batch into balanced calls, longest contexts together', () => {
    const rows = Array.from({ length: 64 }, (_, i) => seq(i, 1, (i % 2 === 0 ? 400 : 440) + i));
    const calls = splitDecodes(rows);
    expect(calls.length).toBe(Math.ceil((64 * (440 + 63 + 1)) / DECODE_SLOTS));
    const sizes = calls.map((c) => c.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(calls.length);
    expect(
      calls
        .flat()
        .map((s) => s.seqId)
        .sort((a, b) => a - b),
    ).toEqual(rows.map((s) => s.seqId));
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i][0].startPosition).toBeLessThanOrEqual(calls[i - 1].at(-1)!.startPosition);
    }
  });

  it('never makes calls of fewer than 8 rows', () => {
    const rows = Array.from({ length: 12 }, (_, i) => seq(i, 1, 1000));
    expect(splitDecodes(rows)).toHaveLength(1);
    expect(splitDecodes(Array.from({ length: 16 }, (_, i) => seq(i, 1, 1000)))).toHaveLength(2);
  });
});

describe('planGroups with speculative verification rows', () => {
  it('runs short rows together whatever their past', () => {
    const groups = planGroups([seq(0, 5, 40), seq(1, 1, 7), seq(2, 3, 900), seq(3, 9, 300)], true);
    expect(ids(groups)).toEqual([[1], [0, 2, 3]]);
  });

  it('lets decodes join rows of two tokens (a draft model catching up)', () => {
    const groups = planGroups([seq(0, 2, 40), seq(1, 1, 7), seq(2, 1, 90), seq(3, 30, 0)], true);
    expect(ids(groups)).toEqual([[3], [1, 2, 0]]);
  });
});
