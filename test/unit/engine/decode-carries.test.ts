import { describe, expect, it } from 'vitest';
import { DecodeCarries } from '../../../src/engine/decode-carries.js';
import { DenseKvSets } from '../../../src/engine/dense-kv-sets.js';
import type { RunnerSequence } from '../../../src/engine/runner-types.js';

const row = (seqId: number, startPosition: number): RunnerSequence => ({
  seqId,
  tokenIds: [1],
  startPosition,
  blockTable: [0],
  numLogits: 1,
});

function setup() {
  const sets = new DenseKvSets(1, (n) => new Float32Array(n));
  return { sets, carries: new DecodeCarries(sets) };
}

describe('decode carries between executes', () => {
  it('hands a call its previous past when the rows are the same, in order, within what it holds', () => {
    const { sets, carries } = setup();
    const set = sets.take(64);
    carries.begin([row(1, 10), row(2, 12)]);
    carries.keep({ seqIds: [1, 2], offsets: [2, 0], filled: [11, 13], width: 16, set });
    carries.end();
    carries.begin([row(1, 11), row(2, 13)]);
    expect(carries.findDense([row(1, 11), row(2, 13)])?.set).toBe(set);
    // A verification that rolled back starts earlier: still served.
    expect(carries.findDense([row(1, 9), row(2, 13)])?.set).toBe(set);
    // Other order, other rows, or past what it holds: gathered afresh.
    expect(carries.findDense([row(2, 13), row(1, 11)])).toBeNull();
    expect(carries.findDense([row(1, 11)])).toBeNull();
    expect(carries.findDense([row(1, 12), row(2, 13)])).toBeNull();
  });

  it('releases a carry whose rows are not all in the execute before its calls run', () => {
    const { sets, carries } = setup();
    const set = sets.take(64);
    carries.begin([row(1, 0), row(2, 0)]);
    carries.keep({ seqIds: [1, 2], offsets: [0, 0], filled: [1, 1], width: 8, set });
    carries.end();
    carries.begin([row(1, 1)]); // row 2 left
    expect(carries.findDense([row(1, 1), row(2, 1)])).toBeNull();
    expect(sets.take(64)).toBe(set); // back in the idle pool already
    expect(sets.allocated).toBe(1);
  });

  it('lets a carry live one execute: a set no call kept goes back at the end', () => {
    const { sets, carries } = setup();
    const first = sets.take(64);
    carries.begin([row(1, 0)]);
    carries.keep({ seqIds: [1], offsets: [0], filled: [1], width: 8, set: first });
    carries.end();
    // The row is in the next execute but its call gathered afresh (and kept another set).
    carries.begin([row(1, 1)]);
    const second = sets.take(64);
    expect(second).not.toBe(first);
    carries.keep({ seqIds: [1], offsets: [0], filled: [2], width: 8, set: second });
    carries.end();
    expect(sets.take(64)).toBe(first);
    // The kept one is served next time and is not in the idle pool.
    carries.begin([row(1, 2)]);
    expect(carries.findDense([row(1, 2)])?.set).toBe(second);
  });

  it('matches present carries only one position further', () => {
    const { carries } = setup();
    const presents = [[new Float32Array(4), new Float32Array(4)]];
    carries.begin([row(1, 4)]);
    carries.keep({ seqIds: [1], starts: [4], T: 5, presents });
    carries.end();
    carries.begin([row(1, 5)]);
    expect(carries.findPresent([row(1, 5)], 5)?.presents).toBe(presents);
    expect(carries.findPresent([row(1, 6)], 5)).toBeNull();
    expect(carries.findPresent([row(1, 5)], 6)).toBeNull();
    expect(carries.findDense([row(1, 5)])).toBeNull();
  });
});
