import { describe, expect, it } from 'vitest';
import { Detokenizer } from '../../../src/engine/detokenizer.js';

const utf8 = new TextEncoder();

/** Splits text into "tokens" of at most `size` bytes, cutting through multi-byte characters. */
function byteTokens(text: string, size: number): Uint8Array[] {
  const bytes = utf8.encode(text);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.slice(i, i + size));
  return out;
}

describe('Detokenizer', () => {
  it('never emits part of a multi-byte character, whatever the cut', () => {
    const text = 'café ☕ 你好 🍏🍎 naïve — done';
    for (const size of [1, 2, 3, 5]) {
      const tokens = byteTokens(text, size);
      const detok = new Detokenizer((id) => tokens[id]);
      let out = '';
      for (let id = 0; id < tokens.length; id++) {
        const piece = detok.push([id]);
        expect(piece).not.toContain('\uFFFD');
        // Each delta is itself a whole string of complete characters.
        expect(utf8.encode(piece).length).toBe(Buffer.byteLength(piece));
        out += piece;
      }
      out += detok.flush();
      expect(out).toBe(text);
    }
  });

  it('holds an incomplete character until its last byte arrives', () => {
    const bytes = utf8.encode('🍏');
    const tokens = [bytes.slice(0, 1), bytes.slice(1, 3), bytes.slice(3)];
    const detok = new Detokenizer((id) => tokens[id]);
    expect(detok.push([0])).toBe('');
    expect(detok.push([1])).toBe('');
    expect(detok.push([2])).toBe('🍏');
  });

  it('turns a character that never completes into U+FFFD only at the end', () => {
    const tokens = [utf8.encode('ok'), utf8.encode('你').slice(0, 2)];
    const detok = new Detokenizer((id) => tokens[id]);
    expect(detok.push([0, 1])).toBe('ok');
    expect(detok.flush()).toBe('\uFFFD');
  });

  it('skips hidden tokens and keeps a leading byte-order mark as text', () => {
    const tokens = [utf8.encode('\uFEFFa'), utf8.encode('<|end|>')];
    const detok = new Detokenizer(
      (id) => tokens[id],
      (id) => id === 1,
    );
    expect(detok.push([0, 1])).toBe('\uFEFFa');
  });
});
