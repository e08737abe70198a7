import { describe, expect, it } from 'vitest';
import { transferables } from '../../../src/shared/engine-protocol.js';

describe('engine protocol transfers', () => {
  it('moves hand-off buffers, both ways, and nothing else', () => {
    const data = new Float32Array(8);
    const spent = new ArrayBuffer(64);
    expect(
      transferables({ type: 'import-prefix', tokenIds: [1], blocks: 1, data, replyTo: 1 }),
    ).toEqual([data.buffer]);
    const ask = { type: 'export-prefix' as const, tokenIds: [1], whenComputed: false, replyTo: 1 };
    expect(transferables({ ...ask, reuse: spent })).toEqual([spent]);
    expect(transferables({ ...ask, reuse: null })).toEqual([]);
    expect(transferables({ type: 'prefix-exported', blocks: 1, data, replyTo: 1 })).toEqual([
      data.buffer,
    ]);
    expect(transferables({ type: 'prefix-exported', blocks: 0, data: null, replyTo: 1 })).toEqual(
      [],
    );
    expect(transferables({ type: 'prefix-imported', blocks: 1, spent, replyTo: 1 })).toEqual([
      spent,
    ]);
    expect(transferables({ type: 'generate', requests: [] })).toEqual([]);
  });
});
