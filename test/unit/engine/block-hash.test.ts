import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashBlock } from '../../../src/engine/kv-cache-manager.js';

/** The layout hashBlock promises, written out the slow way. */
function expected(parent: string, tokenIds: number[]): string {
  const h = createHash('sha256');
  h.update(parent === '' ? Buffer.alloc(32) : Buffer.from(parent, 'base64'));
  h.update(Buffer.from(Int32Array.from(tokenIds).buffer));
  return h.digest('base64');
}

describe('block chain hash', () => {
  it('is SHA-256 of the parent digest and the int32 token ids', () => {
    const first = hashBlock('', [1, 2, 3, 4]);
    expect(first).toBe(expected('', [1, 2, 3, 4]));
    const second = hashBlock(first, [5, 6, 7, 8]);
    expect(second).toBe(expected(first, [5, 6, 7, 8]));
  });

  it('hashes a range like the same tokens sliced out, whatever came before', () => {
    const tokens = Array.from({ length: 40 }, (_, i) => (i * 7919) % 4096);
    const long = hashBlock(
      '',
      Array.from({ length: 100 }, (_, i) => i),
    ); // grows the buffer
    expect(hashBlock(long, tokens, 16, 32)).toBe(hashBlock(long, tokens.slice(16, 32)));
    expect(hashBlock('', tokens, 0, 16)).toBe(expected('', tokens.slice(0, 16)));
  });

  it('tells apart parents, token order and large ids', () => {
    const a = hashBlock('', [1, 2, 3, 4]);
    const b = hashBlock('', [2, 1, 3, 4]);
    expect(a).not.toBe(b);
    expect(hashBlock(a, [9, 9, 9, 9])).not.toBe(hashBlock(b, [9, 9, 9, 9]));
    expect(hashBlock('', [70_000])).not.toBe(hashBlock('', [70_000 - 65_536]));
  });
});
