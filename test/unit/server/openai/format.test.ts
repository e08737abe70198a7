import { describe, expect, it } from 'vitest';
import type { ChoiceDelta } from '../../../../src/engine/types.js';
import { ChatAccumulator, ChatChunker } from '../../../../src/server/openai/chat-format.js';
import {
  CompletionAccumulator,
  CompletionChunker,
} from '../../../../src/server/openai/completion-format.js';
import type { TokenLogprob } from '../../../../src/shared/sampling.js';

const meta = { id: 'chatcmpl-1', created: 1, model: 'm@1', systemFingerprint: 'orchard-test' };
const usage = { promptTokens: 4, completionTokens: 3, cachedPromptTokens: 2 };

function lp(token: string, logprob: number): TokenLogprob {
  return {
    tokenId: 1,
    token,
    logprob,
    bytes: [...Buffer.from(token)],
    top: [
      { tokenId: 1, token, logprob, bytes: [...Buffer.from(token)] },
      { tokenId: 2, token: 'x', logprob: -9, bytes: [120] },
    ],
  };
}

function delta(
  index: number,
  text: string,
  finish: ChoiceDelta['finishReason'] = null,
): ChoiceDelta {
  return { index, text, tokenIds: [1], logprobs: [lp(text, -0.5)], finishReason: finish };
}

describe('chat format', () => {
  it('accumulates choices, logprobs and usage', () => {
    const acc = new ChatAccumulator(2, true, 1);
    acc.add([delta(0, 'Hel'), delta(1, 'Yo')]);
    acc.add([delta(0, 'lo', 'stop'), delta(1, '!', 'length')]);
    const r = acc.response(meta, usage);
    expect(r.choices[0].message.content).toBe('Hello');
    expect(r.choices[1].finish_reason).toBe('length');
    expect(r.choices[0].logprobs?.content).toHaveLength(2);
    expect(r.choices[0].logprobs?.content[0].top_logprobs).toHaveLength(1);
    expect(r.usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: 3,
      total_tokens: 7,
      prompt_tokens_details: { cached_tokens: 2 },
    });
  });

  it('streams role chunks, deltas and a usage chunk with empty choices', () => {
    const c = new ChatChunker(meta, true, false, 0);
    const roles = c.roles(2);
    expect(roles.map((r) => r.choices[0].delta)).toEqual([
      { role: 'assistant', content: '' },
      { role: 'assistant', content: '' },
    ]);
    expect(roles[0].usage).toBeNull();
    const chunks = c.deltas([delta(0, 'a'), { ...delta(1, ''), logprobs: [] }]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].choices[0]).toMatchObject({
      index: 0,
      delta: { content: 'a' },
      logprobs: null,
    });
    const last = c.usage(usage);
    expect(last.choices).toEqual([]);
    expect(last.usage?.total_tokens).toBe(7);
  });
});

describe('completion format', () => {
  it('numbers choices prompt × n + i and echoes prompts', () => {
    const acc = new CompletionAccumulator({
      n: 2,
      prompts: ['P0', 'P1'],
      echo: true,
      logprobs: null,
    });
    acc.add(1, [delta(1, 'x', 'stop')]);
    acc.add(0, [delta(0, 'y', 'length')]);
    const r = acc.response(meta, usage);
    expect(r.choices.map((c) => c.text)).toEqual(['P0y', 'P0', 'P1', 'P1x']);
    expect(r.choices[3].finish_reason).toBe('stop');
  });

  it('builds logprobs with text offsets', () => {
    const acc = new CompletionAccumulator({ n: 1, prompts: ['p'], echo: false, logprobs: 2 });
    acc.add(0, [delta(0, 'ab')]);
    acc.add(0, [delta(0, 'cde', 'stop')]);
    const l = acc.response(meta, usage).choices[0].logprobs!;
    expect(l.tokens).toEqual(['ab', 'cde']);
    expect(l.token_logprobs).toEqual([-0.5, -0.5]);
    expect(l.text_offset).toEqual([0, 2]);
    expect(l.top_logprobs[0]).toEqual({ ab: -0.5, x: -9 });
  });

  it('continues offsets across stream chunks', () => {
    const c = new CompletionChunker(
      meta,
      { n: 1, prompts: ['p'], echo: false, logprobs: 0 },
      false,
    );
    c.deltas(0, [delta(0, 'ab')]);
    const [chunk] = c.deltas(0, [delta(0, 'c')]);
    expect(chunk.choices[0].logprobs?.text_offset).toEqual([2]);
    expect(chunk.choices[0].logprobs?.top_logprobs).toEqual([{}]);
    expect(chunk.usage).toBeUndefined();
  });
});

describe("the engine's 'abort' never reaches clients", () => {
  const noLogprobs = (d: ChoiceDelta): ChoiceDelta => ({ ...d, logprobs: [] });

  it('chat streams: no finish chunk for an aborted choice, text still sent unfinished', () => {
    const c = new ChatChunker(meta, false, false, 0);
    expect(c.deltas([noLogprobs(delta(0, '', 'abort'))])).toEqual([]);
    const chunks = c.deltas([noLogprobs(delta(0, 'tail', 'abort')), delta(1, '', 'stop')]);
    expect(chunks.map((k) => k.choices[0].finish_reason)).toEqual([null, 'stop']);
    expect(chunks[0].choices[0].delta).toEqual({ content: 'tail' });
    expect(JSON.stringify(chunks)).not.toContain('abort');
  });

  it('chat responses report stop for an aborted choice', () => {
    const acc = new ChatAccumulator(2, false, 0);
    acc.add([delta(0, 'a', 'abort'), delta(1, 'b', 'length')]);
    const r = acc.response(meta, usage);
    expect(r.choices.map((ch) => ch.finish_reason)).toEqual(['stop', 'length']);
  });

  it('completion streams and responses do the same', () => {
    const shape = { n: 1, prompts: ['p'], echo: false, logprobs: null };
    const c = new CompletionChunker(meta, shape, false);
    expect(c.deltas(0, [delta(0, '', 'abort')])).toEqual([]);
    const chunks = c.deltas(0, [delta(0, 'x', 'abort')]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].choices[0]).toMatchObject({ text: 'x', finish_reason: null });
    expect(c.deltas(0, [delta(0, '', 'length')])[0].choices[0].finish_reason).toBe('length');
    const acc = new CompletionAccumulator(shape);
    acc.add(0, [delta(0, 'x', 'abort')]);
    expect(acc.response(meta, usage).choices[0].finish_reason).toBe('stop');
  });
});
