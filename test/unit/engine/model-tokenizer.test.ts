import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelTokenizer, type HfModelTokenizer } from '../../../src/engine/model-tokenizer.js';

const MODEL =
  process.env.ORCHARD_TEST_MODEL ??
  path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../../resources/models/orchard-chat-1',
  );

let tok: HfModelTokenizer;

beforeAll(async () => {
  tok = await loadModelTokenizer(MODEL, { bosTokenId: 0, eosTokenIds: [1] });
});

describe('HfModelTokenizer (shipped tokenizer)', () => {
  it('renders the chat template and encodes its special tokens as single ids', () => {
    const text = tok.applyChatTemplate([{ role: 'user', content: 'hi' }], {
      addGenerationPrompt: true,
    });
    expect(text).toBe('<|begin|><|user|>\nhi<|end|>\n<|assistant|>\n');
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids).toContain(tok.eosTokenIds[0]);
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe(text);
    expect(tok.decode(ids)).toBe('\nhi\n\n');
  });

  it('gives every token its raw bytes, so multi-byte characters can be rebuilt from pieces', () => {
    const text = 'Grüße aus dem Obstgarten 🍏 — 你好';
    const ids = tok.encode(text, { addSpecialTokens: false });
    const bytes = ids.flatMap((id) => [...tok.tokenBytes(id)]);
    expect(Buffer.from(bytes).toString('utf8')).toBe(text);
    // Byte-level BPE splits the emoji into tokens that are not valid UTF-8 on their own.
    expect(
      ids.some((id) => Buffer.from(tok.tokenBytes(id)).toString('utf8').includes('\uFFFD')),
    ).toBe(true);
  });

  it('marks special tokens and knows the vocabulary size', () => {
    expect(tok.vocabSize).toBe(4096);
    expect(tok.isSpecial(tok.eosTokenIds[0])).toBe(true);
    expect(tok.isSpecial(tok.encode('apple', { addSpecialTokens: false })[0])).toBe(false);
    expect(Buffer.from(tok.tokenBytes(1)).toString('utf8')).toBe('<|end|>');
  });
});
