import { describe, expect, it } from 'vitest';
import { StopMatcher } from '../../../src/engine/stop-matcher.js';

function run(
  stops: string[],
  pieces: string[],
): { emitted: string[]; stopped: boolean; matched?: string } {
  const m = new StopMatcher(stops);
  const emitted: string[] = [];
  for (const p of pieces) {
    const r = m.push(p);
    emitted.push(r.text);
    if (r.stopped) return { emitted, stopped: true, matched: r.matched };
  }
  emitted.push(m.flush());
  return { emitted, stopped: false };
}

describe('StopMatcher', () => {
  it('matches a stop string split across pieces and never leaks any of it', () => {
    const r = run(['END'], ['hello E', 'N', 'D and more']);
    expect(r.stopped).toBe(true);
    expect(r.emitted.join('')).toBe('hello ');
    for (const piece of r.emitted) expect(piece).not.toMatch(/[END]/);
  });

  it('releases held text once it can no longer be a stop string', () => {
    const m = new StopMatcher(['END']);
    expect(m.push('hello E')).toEqual({ text: 'hello ', stopped: false });
    expect(m.push('X')).toEqual({ text: 'EX', stopped: false });
  });

  it('stops at the earliest of several stop strings', () => {
    const r = run(['world', 'lo w'], ['hel', 'lo world']);
    expect(r.matched).toBe('lo w');
    expect(r.emitted.join('')).toBe('hel');
  });

  it('handles a stop string that overlaps with itself', () => {
    const r = run(['aab'], ['a', 'a', 'a', 'b', 'c']);
    expect(r.stopped).toBe(true);
    expect(r.emitted.join('')).toBe('a');
  });

  it('flushes held text when the stream ends without a match', () => {
    const r = run(['</s>'], ['done </']);
    expect(r.stopped).toBe(false);
    expect(r.emitted).toEqual(['done ', '</']);
  });

  it('passes text straight through without stop strings, and emits nothing after a match', () => {
    const m = new StopMatcher(['', 'x']);
    expect(m.push('abc')).toEqual({ text: 'abc', stopped: false });
    expect(m.push('x tail').stopped).toBe(true);
    expect(m.push('more')).toEqual({ text: '', stopped: true });
    expect(m.flush()).toBe('');
    expect(new StopMatcher([]).push('x')).toEqual({ text: 'x', stopped: false });
  });

  it('matches stop strings made of multi-byte characters', () => {
    const r = run(['🍏!'], ['a🍏', '!b']);
    expect(r.stopped).toBe(true);
    expect(r.emitted.join('')).toBe('a');
  });
});
