/** Shared by the engine integration tests: which shipped model to use, prompts to feed it. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The shipped chat model (ORCHARD_TEST_MODEL points elsewhere, e.g. while the models are rebuilt). */
export const CHAT_MODEL =
  process.env.ORCHARD_TEST_MODEL ?? path.join(ROOT, 'resources/models/orchard-chat-1');

const WORDS = (
  'the orchard keeps apples pears and plums in rows that run down to the river where old trees ' +
  'lean over the water and children climb to reach the fruit before the birds can take it'
).split(' ');

/** A deterministic prompt of roughly `words` words, different per `seed`. */
export function promptText(seed: number, words: number): string {
  const out: string[] = [];
  let x = seed * 2654435761 + 12345;
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(WORDS[x % WORDS.length]);
  }
  return out.join(' ');
}

import type { EngineOptions, GenerateOutput, ModelTokenizer } from '../../src/engine/types.js';
import type { FinishReason, TokenLogprob } from '../../src/shared/sampling.js';

export function engineOptions(overrides: Partial<EngineOptions> = {}): EngineOptions {
  return {
    executionProvider: 'cpu',
    threads: 2,
    kvCacheBytes: 32 * 1024 * 1024,
    blockSize: 16,
    maxRunningRequests: 64,
    maxWaitingRequests: 256,
    maxBatchTokens: 512,
    enablePrefixCaching: true,
    ...overrides,
  };
}

/** A chat prompt about a seeded topic, as token ids. */
export function chatPrompt(tok: ModelTokenizer, seed: number, words = 12): number[] {
  const text = tok.applyChatTemplate([{ role: 'user', content: promptText(seed, words) }], {
    addGenerationPrompt: true,
  });
  return tok.encode(text, { addSpecialTokens: false });
}

export interface Collected {
  texts: string[];
  tokens: number[][];
  logprobs: TokenLogprob[][];
  finish: Array<FinishReason | null>;
  /** Every text delta, per choice, in arrival order. */
  deltas: string[][];
  outputs: GenerateOutput[];
}

export async function collect(
  stream: AsyncIterable<GenerateOutput>,
  onOutput?: (o: GenerateOutput) => void,
): Promise<Collected> {
  const c: Collected = { texts: [], tokens: [], logprobs: [], finish: [], deltas: [], outputs: [] };
  for await (const o of stream) {
    c.outputs.push(o);
    for (const d of o.choices) {
      c.texts[d.index] = (c.texts[d.index] ?? '') + d.text;
      (c.tokens[d.index] ??= []).push(...d.tokenIds);
      (c.logprobs[d.index] ??= []).push(...d.logprobs);
      (c.deltas[d.index] ??= []).push(d.text);
      if (d.finishReason !== null) c.finish[d.index] = d.finishReason;
    }
    onOutput?.(o);
  }
  return c;
}
