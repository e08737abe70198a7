import { describe, expect, it } from 'vitest';
import type { CoreOutput } from '../../../src/engine/core-types.js';
import { OutputBatcher } from '../../../src/engine/output-batcher.js';

function out(requestId: string, tokens: number[], finished = false): CoreOutput {
  return {
    requestId,
    choices: [
      { index: 0, newTokenIds: tokens, logprobs: [], finishReason: finished ? 'stop' : null },
    ],
    finished,
    promptTokens: 3,
    cachedPromptTokens: 0,
  };
}

describe('OutputBatcher', () => {
  it('posts a first token and a finish at once, and other tokens at most every interval', () => {
    const b = new OutputBatcher(4);
    // First token of a: now.
    expect(b.add([out('a', [1])], [{ requestId: 'a', queueMs: 2 }], 100)).toBe(true);
    expect(b.take(100)).toEqual({
      outputs: [out('a', [1])],
      admitted: [{ requestId: 'a', queueMs: 2 }],
    });
    // Following tokens within the interval wait…
    expect(b.add([out('a', [2])], [], 101)).toBe(false);
    expect(b.add([out('a', [3])], [], 103.9)).toBe(false);
    // …and go out together, in order, once it has passed.
    expect(b.add([out('a', [4])], [], 104)).toBe(true);
    expect(b.take(104).outputs.map((o) => o.choices[0].newTokenIds[0])).toEqual([2, 3, 4]);
    // Another request's first token does not wait for a's interval.
    expect(b.add([out('a', [5]), out('b', [9])], [], 105)).toBe(true);
    expect(b.take(105).outputs).toHaveLength(2);
    // A finish goes out at once, with what was held.
    expect(b.add([out('a', [6])], [], 106)).toBe(false);
    expect(b.add([out('a', [7], true)], [], 106.5)).toBe(true);
    expect(b.take(106.5).outputs.map((o) => o.choices[0].newTokenIds[0])).toEqual([6, 7]);
    expect(b.pending()).toBe(false);
  });

  it('a finished request starts over: its id again is a first token', () => {
    const b = new OutputBatcher(4);
    b.add([out('a', [1])], [], 0);
    b.take(0);
    b.add([out('a', [2], true)], [], 1);
    b.take(1);
    expect(b.add([out('a', [3])], [], 2)).toBe(true);
  });

  it('an output without tokens is not a first token; admissions alone wait', () => {
    const b = new OutputBatcher(4);
    expect(b.add([out('a', [])], [], 0)).toBe(true); // nothing posted yet: the interval passed
    b.take(0);
    expect(b.add([out('a', [])], [{ requestId: 'a', queueMs: 1 }], 1)).toBe(false);
    expect(b.pending()).toBe(true);
    expect(b.add([out('a', [1])], [], 2)).toBe(true);
    expect(b.take(2).outputs).toHaveLength(2);
  });

  it('with interval 0 every step is posted', () => {
    const b = new OutputBatcher(0);
    b.add([out('a', [1])], [], 0);
    b.take(0);
    expect(b.add([out('a', [2])], [], 0)).toBe(true);
  });
});
