import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModelTokenizer } from '../../../../src/engine/model-tokenizer.js';
import type { ModelTokenizer } from '../../../../src/engine/types.js';
import {
  CHAT_UNSUPPORTED,
  chatCompletionSchema,
  completionSchema,
  type ChatCompletionBody,
} from '../../../../src/server/openai/schemas.js';
import { translateChat } from '../../../../src/server/openai/translate-chat.js';
import { keepAliveMs } from '../../../../src/server/openai/translate-common.js';
import { translateCompletion } from '../../../../src/server/openai/translate-completion.js';
import { parseWith, rejectUnsupported } from '../../../../src/server/openai/validate.js';
import { InvalidRequestError, OrchardError } from '../../../../src/shared/errors.js';

const MODEL_DIR = path.resolve('resources/models/orchard-chat-1');
let tokenizer: ModelTokenizer;
const facts = { contextLength: 1024, vocabSize: 4096 };

beforeAll(async () => {
  tokenizer = await loadModelTokenizer(MODEL_DIR);
  facts.vocabSize = tokenizer.vocabSize;
});

function chat(extra: Record<string, unknown> = {}): ChatCompletionBody {
  return parseWith(chatCompletionSchema, {
    model: 'orchard-chat',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello there' },
    ],
    ...extra,
  });
}

function errorOf(fn: () => unknown): OrchardError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OrchardError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('translateChat', () => {
  it('applies the chat template and maps every sampling parameter', () => {
    const t = translateChat(
      chat({
        temperature: 0.7,
        top_p: 0.9,
        top_k: 40,
        min_p: 0.05,
        seed: 7,
        n: 2,
        stop: 'END',
        presence_penalty: 0.5,
        frequency_penalty: -0.5,
        repetition_penalty: 1.1,
        logit_bias: { '5': -100, '7': 3 },
        logprobs: true,
        top_logprobs: 3,
        max_completion_tokens: 12,
      }),
      tokenizer,
      facts,
    );
    const expectedPrompt = tokenizer.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
      { addGenerationPrompt: true },
    );
    expect(t.promptText).toBe(expectedPrompt);
    expect(t.request.promptTokenIds).toEqual(
      tokenizer.encode(expectedPrompt, { addSpecialTokens: false }),
    );
    expect(t.promptTokens).toBe(t.request.promptTokenIds.length);
    expect(t.request.params).toMatchObject({
      temperature: 0.7,
      topP: 0.9,
      topK: 40,
      minP: 0.05,
      seed: 7,
      n: 2,
      stop: ['END'],
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      repetitionPenalty: 1.1,
      logitBias: { 5: -100, 7: 3 },
      logprobs: true,
      topLogprobs: 3,
      maxTokens: 12,
    });
  });

  it('defaults max tokens to the rest of the context', () => {
    const t = translateChat(chat(), tokenizer, facts);
    expect(t.request.params.maxTokens).toBe(facts.contextLength - t.promptTokens);
    expect(t.request.params.temperature).toBe(1);
    expect(t.request.params.n).toBe(1);
  });

  it("uses the model's generation_config sampling where the request is silent", () => {
    const withDefaults = {
      ...facts,
      defaults: { temperature: 0.7, topP: 0.9, topK: 40, repetitionPenalty: 1.1 },
    };
    const silent = translateChat(chat(), tokenizer, withDefaults).request.params;
    expect(silent).toMatchObject({ temperature: 0.7, topP: 0.9, topK: 40, repetitionPenalty: 1.1 });
    const chosen = translateChat(
      chat({ temperature: 0, top_p: 1, top_k: 0, repetition_penalty: 1 }),
      tokenizer,
      withDefaults,
    ).request.params;
    expect(chosen).toMatchObject({ temperature: 0, topP: 1, topK: 0, repetitionPenalty: 1 });
  });

  it('joins text content parts and rejects other part types by path', () => {
    const body = chat({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
      ],
    });
    expect(translateChat(body, tokenizer, facts).promptText).toContain('a\nb');
    const err = errorOf(() =>
      translateChat(
        chat({
          messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
        }),
        tokenizer,
        facts,
      ),
    );
    expect(err.param).toBe('messages[0].content[0].type');
  });

  it('reports context_length_exceeded', () => {
    const long = 'word '.repeat(2000);
    const err = errorOf(() =>
      translateChat(chat({ messages: [{ role: 'user', content: long }] }), tokenizer, facts),
    );
    expect(err.code).toBe('context_length_exceeded');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/maximum context length is 1024 tokens/);
    const err2 = errorOf(() => translateChat(chat({ max_tokens: 1020 }), tokenizer, facts));
    expect(err2.code).toBe('context_length_exceeded');
  });

  it('checks logit_bias ids and parameter combinations', () => {
    expect(
      errorOf(() => translateChat(chat({ logit_bias: { '999999': 1 } }), tokenizer, facts)).param,
    ).toBe('logit_bias');
    expect(errorOf(() => translateChat(chat({ top_logprobs: 2 }), tokenizer, facts)).param).toBe(
      'top_logprobs',
    );
    expect(
      errorOf(() =>
        translateChat(chat({ stream_options: { include_usage: true } }), tokenizer, facts),
      ).param,
    ).toBe('stream_options');
    expect(
      errorOf(() =>
        translateChat(chat({ max_tokens: 3, max_completion_tokens: 4 }), tokenizer, facts),
      ).param,
    ).toBe('max_tokens');
  });
});

describe('schema errors name the param', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ temperature: 3 }, 'temperature'],
    [{ temperature: 'hot' }, 'temperature'],
    [{ n: 0 }, 'n'],
    [{ n: 9 }, 'n'],
    [{ top_logprobs: 21, logprobs: true }, 'top_logprobs'],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ max_tokens: -5 }, 'max_tokens'],
    [{ logit_bias: { abc: 1 } }, 'logit_bias.abc'],
    [{ logit_bias: { '3': 500 } }, 'logit_bias.3'],
    [{ messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [] }, 'messages'],
    [{ frobnicate: true }, 'frobnicate'],
    [{ messages: [{ role: 'user', content: 'x', name: 'bob' }] }, 'messages[0].name'],
  ];
  it.each(cases)('%j → %s', (extra, param) => {
    const err = errorOf(() => chat(extra));
    expect(err).toBeInstanceOf(InvalidRequestError);
    expect(err.param).toBe(param);
  });

  it('unknown fields read like OpenAI', () => {
    expect(errorOf(() => chat({ frobnicate: 1 })).message).toBe(
      'Unrecognized request argument supplied: frobnicate',
    );
  });

  it('accepts null as not given', () => {
    const body = chat({ temperature: null, stop: null, seed: null, user: null });
    expect(translateChat(body, tokenizer, facts).request.params.temperature).toBe(1);
  });
});

describe('unsupported parameters', () => {
  it.each(['tools', 'tool_choice', 'functions', 'response_format', 'audio', 'parallel_tool_calls'])(
    'rejects %s by name',
    (name) => {
      const value =
        name === 'response_format'
          ? { type: 'json_object' }
          : name === 'tool_choice'
            ? 'auto'
            : name === 'parallel_tool_calls'
              ? true
              : [{ type: 'function', function: { name: 'f' } }];
      const err = errorOf(() => rejectUnsupported({ model: 'm', [name]: value }, CHAT_UNSUPPORTED));
      expect(err.param).toBe(name);
      expect(err.code).toBe('unsupported_parameter');
      expect(err.message).toContain(name);
    },
  );

  it('lets neutral values through', () => {
    expect(() =>
      rejectUnsupported(
        {
          response_format: { type: 'text' },
          tools: [],
          tool_choice: 'none',
          store: false,
          audio: null,
        },
        CHAT_UNSUPPORTED,
      ),
    ).not.toThrow();
  });
});

describe('translateCompletion', () => {
  const body = (extra: Record<string, unknown>) =>
    parseWith(completionSchema, { model: 'orchard-chat', prompt: 'Once upon a time', ...extra });

  it('encodes string prompts with special tokens and maps logprobs', () => {
    const t = translateCompletion(body({ logprobs: 2, max_tokens: 5 }), tokenizer, facts);
    expect(t.prompts).toHaveLength(1);
    expect(t.prompts[0].request.promptTokenIds).toEqual(tokenizer.encode('Once upon a time'));
    expect(t.prompts[0].request.params).toMatchObject({
      logprobs: true,
      topLogprobs: 2,
      maxTokens: 5,
    });
  });

  it('takes token prompts and prompt lists', () => {
    const ids = tokenizer.encode('Hello');
    const t = translateCompletion(body({ prompt: [ids, ids] }), tokenizer, facts);
    expect(t.prompts.map((p) => p.request.promptTokenIds)).toEqual([ids, ids]);
    const t2 = translateCompletion(body({ prompt: ['a', 'b', 'c'] }), tokenizer, facts);
    expect(t2.prompts).toHaveLength(3);
  });

  it('rejects echo with logprobs, best_of ≠ n and out-of-vocabulary ids', () => {
    expect(
      errorOf(() => translateCompletion(body({ echo: true, logprobs: 1 }), tokenizer, facts)).param,
    ).toBe('echo');
    expect(errorOf(() => translateCompletion(body({ best_of: 3 }), tokenizer, facts)).param).toBe(
      'best_of',
    );
    expect(
      errorOf(() => translateCompletion(body({ prompt: [1, 999999] }), tokenizer, facts)).param,
    ).toBe('prompt');
  });
});

describe('keep_alive', () => {
  it('reads Ollama durations', () => {
    expect(keepAliveMs(undefined)).toBeUndefined();
    expect(keepAliveMs(30)).toBe(30_000);
    expect(keepAliveMs('5m')).toBe(300_000);
    expect(keepAliveMs('1h')).toBe(3_600_000);
    expect(keepAliveMs('-1')).toBe(-1000);
    expect(keepAliveMs('0')).toBe(0);
  });

  it('keeps the model loaded for durations a timer cannot hold (2^31-1 ms and up)', () => {
    const max = 2 ** 31 - 1;
    expect(keepAliveMs(`${max - 1}ms`)).toBe(max - 1);
    expect(keepAliveMs(`${max}ms`)).toBe(-1);
    expect(keepAliveMs('597h')).toBe(-1); // 2 149 200 000 ms
    expect(keepAliveMs(30 * 24 * 3600)).toBe(-1); // 30 days in seconds
    expect(keepAliveMs(1e308)).toBe(-1); // Infinity once in ms
    expect(keepAliveMs(Infinity)).toBe(-1);
    expect(keepAliveMs('24h')).toBe(86_400_000);
  });
});
