import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkSameTokenizer,
  resolveDraftModelDir,
  speculativeConfig,
} from '../../../../src/engine/speculative/draft-model.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'orchard-draft-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function modelDir(name: string, vocab: Record<string, number> | null): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'config.json'), '{}');
  if (vocab !== null) {
    writeFileSync(
      path.join(dir, 'tokenizer.json'),
      JSON.stringify({ model: { vocab }, added_tokens: [{ id: 0, content: '<s>' }] }),
    );
  }
  return dir;
}

describe('draft model folder', () => {
  const target = modelDir('orchard-chat-1', { a: 1, b: 2 });

  it('takes the named folder, none when told so, else the shipped draft for draft mode', async () => {
    expect(await resolveDraftModelDir(target, { draftModelDir: '/x/y' })).toBe(
      path.resolve('/x/y'),
    );
    expect(await resolveDraftModelDir(target, { draftModelDir: null, speculative: 'draft' })).toBe(
      null,
    );
    expect(await resolveDraftModelDir(target, { speculative: 'draft' })).toBe(null);
    const sibling = modelDir('orchard-draft', { a: 1, b: 2 });
    expect(await resolveDraftModelDir(target, { speculative: 'draft' })).toBe(sibling);
    expect(await resolveDraftModelDir(target, { speculative: 'lookup' })).toBe(null);
    expect(await resolveDraftModelDir(sibling, { speculative: 'draft' })).toBe(null);
    // A shipped draft of another tokenizer is passed over (named explicitly, it fails to load).
    const other = modelDir('other-family/orchard-chat-9', { x: 1 });
    modelDir('other-family/orchard-draft', { y: 1 });
    expect(await resolveDraftModelDir(other, { speculative: 'draft' })).toBe(null);
  });

  it('needs the same vocabulary as the model', async () => {
    await expect(checkSameTokenizer(target, modelDir('same', { a: 1, b: 2 }))).resolves.toBe(
      undefined,
    );
    await expect(checkSameTokenizer(target, modelDir('other', { a: 1, c: 2 }))).rejects.toThrow(
      /does not share the tokenizer/,
    );
  });

  it('maps engine options onto the core speculative config', () => {
    const base = {
      executionProvider: 'cpu' as const,
      threads: 1,
      kvCacheBytes: 1,
      blockSize: 16,
      maxRunningRequests: 1,
      maxWaitingRequests: 1,
      maxBatchTokens: 1,
      enablePrefixCaching: true,
    };
    expect(speculativeConfig(base)).toEqual({ defaultMode: 'off' });
    expect(
      speculativeConfig({
        ...base,
        speculative: 'lookup',
        speculativeMaxRunning: 4,
        speculativeMaxDrafts: 3,
      }),
    ).toEqual({ defaultMode: 'lookup', maxRunning: 4, maxDrafts: 3 });
  });
});
