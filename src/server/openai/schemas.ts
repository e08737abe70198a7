/**
 * Request body schemas for the OpenAI-compatible routes, in one place. Optional parameters
 * accept null as "not given", as OpenAI does. Unknown fields are rejected (strict objects).
 */
import { z } from 'zod';
import { neutral, type UnsupportedRule } from './validate.js';

const MAX_STOP = 4;

const stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP)], {
    error: `expected a non-empty string or a list of at most ${MAX_STOP} of them`,
  })
  .nullish();

/** OpenAI's logit_bias: token id (as a string) → -100..100. */
const logitBias = z
  .record(z.string().regex(/^\d+$/, 'keys must be token ids'), z.number().min(-100).max(100))
  .nullish();

/** Ollama-like keep_alive: seconds as a number, or a duration such as "5m", "30s", "-1". */
const keepAlive = z
  .union([
    z.number(),
    z.string().regex(/^-?\d+(\.\d+)?(ms|s|m|h)?$/, 'expected a duration such as 30s, 5m or 1h'),
  ])
  .nullish();

const samplingFields = {
  model: z.string().min(1),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().nullish() }).nullish(),
  stop,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  n: z.number().int().min(1).max(8).nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logit_bias: logitBias,
  user: z.string().max(512).nullish(),
  // vLLM / Ollama extensions.
  top_k: z.number().int().min(-1).max(100_000).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  repetition_penalty: z.number().gt(0).max(10).nullish(),
  ignore_eos: z.boolean().nullish(),
  stop_token_ids: z.array(z.number().int().min(0)).max(64).nullish(),
  keep_alive: keepAlive,
};

export const chatMessageSchema = z.strictObject({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  // Strings or text parts; parts are checked one by one in the translator for precise errors.
  content: z.union([z.string(), z.array(z.unknown())], {
    error: 'expected a string or a list of text content parts',
  }),
});

export const chatCompletionSchema = z.strictObject({
  ...samplingFields,
  messages: z.array(chatMessageSchema).min(1),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  // Accepted with their neutral values only (see CHAT_UNSUPPORTED).
  response_format: z.unknown().optional(),
  tools: z.unknown().optional(),
  tool_choice: z.unknown().optional(),
  store: z.unknown().optional(),
  modalities: z.unknown().optional(),
  service_tier: z.unknown().optional(),
  parallel_tool_calls: z.unknown().optional(),
  functions: z.unknown().optional(),
  function_call: z.unknown().optional(),
  audio: z.unknown().optional(),
  prediction: z.unknown().optional(),
  reasoning_effort: z.unknown().optional(),
  metadata: z.unknown().optional(),
  web_search_options: z.unknown().optional(),
  verbosity: z.unknown().optional(),
  prompt_cache_key: z.unknown().optional(),
  safety_identifier: z.unknown().optional(),
});
export type ChatCompletionBody = z.output<typeof chatCompletionSchema>;

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const completionSchema = z.strictObject({
  ...samplingFields,
  prompt: z.union(
    [z.string(), z.array(z.string()).min(1).max(16), tokenIds, z.array(tokenIds).min(1).max(16)],
    {
      error: 'expected a string, a list of strings, token ids, or lists of token ids (at most 16)',
    },
  ),
  max_tokens: z.number().int().min(1).nullish(),
  logprobs: z.number().int().min(0).max(20).nullish(),
  echo: z.boolean().nullish(),
  best_of: z.number().int().min(1).max(8).nullish(),
  suffix: z.unknown().optional(),
});
export type CompletionBody = z.output<typeof completionSchema>;

/** Known OpenAI chat parameters Orchard cannot honour; only their neutral values pass. */
export const CHAT_UNSUPPORTED: Readonly<Record<string, UnsupportedRule>> = {
  tools: neutral.emptyList,
  tool_choice: neutral.equals('none'),
  parallel_tool_calls: neutral.none,
  functions: neutral.emptyList,
  function_call: neutral.equals('none'),
  response_format: neutral.equals({ type: 'text' }),
  audio: neutral.none,
  modalities: neutral.equals(['text']),
  prediction: neutral.none,
  reasoning_effort: neutral.none,
  service_tier: neutral.equals('auto', 'default'),
  store: neutral.equals(false),
  metadata: neutral.none,
  web_search_options: neutral.none,
  verbosity: neutral.none,
  prompt_cache_key: neutral.none,
  safety_identifier: neutral.none,
};

export const COMPLETION_UNSUPPORTED: Readonly<Record<string, UnsupportedRule>> = {
  suffix: neutral.equals(''),
};

export const tokenizeSchema = z.union([
  z.strictObject({
    model: z.string().min(1),
    prompt: z.string(),
    add_special_tokens: z.boolean().nullish(),
  }),
  z.strictObject({
    model: z.string().min(1),
    messages: z.array(chatMessageSchema).min(1),
    add_generation_prompt: z.boolean().nullish(),
  }),
]);
export type TokenizeBody = z.output<typeof tokenizeSchema>;

export const detokenizeSchema = z.strictObject({
  model: z.string().min(1),
  tokens: z.array(z.number().int().min(0)),
});
export type DetokenizeBody = z.output<typeof detokenizeSchema>;
