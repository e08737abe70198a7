/**
 * Parameter mapping shared by chat and text completions: OpenAI body fields → SamplingParams.
 * Pure: no I/O, no engine calls besides the tokenizer's vocabulary size.
 */
import type { SamplingDefaults } from '../../engine/types.js';
import { ContextLengthExceededError, InvalidRequestError } from '../../shared/errors.js';
import { samplingParams, type SamplingParams } from '../../shared/sampling.js';
import type { ChatCompletionBody, CompletionBody } from './schemas.js';
import { MAX_TIMER_MS } from '../../shared/timer-limits.js';

type CommonBody = Pick<
  ChatCompletionBody & CompletionBody,
  | 'stop'
  | 'temperature'
  | 'top_p'
  | 'n'
  | 'seed'
  | 'presence_penalty'
  | 'frequency_penalty'
  | 'logit_bias'
  | 'top_k'
  | 'min_p'
  | 'repetition_penalty'
  | 'ignore_eos'
  | 'stop_token_ids'
>;

export interface ModelFacts {
  contextLength: number;
  vocabSize: number;
  /** The model's generation_config.json sampling, used where the request does not choose. */
  defaults?: SamplingDefaults;
}

export function stopList(stop: string | string[] | null | undefined): string[] {
  if (stop === null || stop === undefined) return [];
  return typeof stop === 'string' ? [stop] : [...stop];
}

export function logitBiasMap(
  bias: Record<string, number> | null | undefined,
  vocabSize: number,
): Record<number, number> {
  const out: Record<number, number> = {};
  if (!bias) return out;
  for (const [key, value] of Object.entries(bias)) {
    const id = Number(key);
    if (!Number.isSafeInteger(id) || id >= vocabSize) {
      throw new InvalidRequestError(
        `Invalid key in 'logit_bias': token id ${key} is outside the vocabulary (0..${vocabSize - 1}).`,
        'logit_bias',
      );
    }
    out[id] = value;
  }
  return out;
}

/** Everything but maxTokens, logprobs and n-specific checks, which differ per endpoint. */
export function commonSampling(
  body: CommonBody,
  facts: ModelFacts,
): Omit<SamplingParams, 'maxTokens' | 'logprobs' | 'topLogprobs'> {
  const base = samplingParams();
  const d = facts.defaults ?? {};
  const stopTokenIds = body.stop_token_ids ?? [];
  for (const id of stopTokenIds) {
    if (id >= facts.vocabSize) {
      throw new InvalidRequestError(
        `Invalid value in 'stop_token_ids': ${id} is outside the vocabulary.`,
        'stop_token_ids',
      );
    }
  }
  return {
    temperature: body.temperature ?? d.temperature ?? base.temperature,
    topP: body.top_p ?? d.topP ?? base.topP,
    topK:
      body.top_k === null || body.top_k === undefined
        ? (d.topK ?? 0)
        : body.top_k < 0
          ? 0
          : body.top_k,
    minP: body.min_p ?? d.minP ?? base.minP,
    presencePenalty: body.presence_penalty ?? 0,
    frequencyPenalty: body.frequency_penalty ?? 0,
    repetitionPenalty: body.repetition_penalty ?? d.repetitionPenalty ?? 1,
    logitBias: logitBiasMap(body.logit_bias, facts.vocabSize),
    seed: body.seed ?? null,
    stopTokenIds,
    stop: stopList(body.stop),
    n: body.n ?? 1,
    ignoreEos: body.ignore_eos ?? false,
  };
}

/**
 * The completion budget: what the client asked for, or the rest of the context. Prompt plus
 * completion must fit the model's context.
 */
export function completionBudget(
  promptTokens: number,
  requested: number | null | undefined,
  facts: ModelFacts,
  promptParam: 'messages' | 'prompt',
): number {
  const what = promptParam === 'messages' ? 'messages' : 'prompt';
  if (requested === null || requested === undefined) {
    const rest = facts.contextLength - promptTokens;
    if (rest <= 0) {
      throw new ContextLengthExceededError(
        `This model's maximum context length is ${facts.contextLength} tokens. However, your ${what} resulted in ${promptTokens} tokens. Please reduce the length of the ${what}.`,
        promptParam,
      );
    }
    return rest;
  }
  if (promptTokens + requested > facts.contextLength) {
    throw new ContextLengthExceededError(
      `This model's maximum context length is ${facts.contextLength} tokens. However, you requested ${promptTokens + requested} tokens (${promptTokens} in the ${what}, ${requested} in the completion). Please reduce the length of the ${what} or completion.`,
      promptParam,
    );
  }
  return requested;
}

/**
 * Ollama's keep_alive: a number is seconds, a string is a duration; negative keeps the model
 * loaded, 0 unloads it right after the request. Returns milliseconds (negative = forever).
 * Durations a timer cannot hold (2^31-1 ms, about 24.8 days, and up) also mean forever: Node
 * would fire such a timer after 1 ms and unload the model right away.
 */
export function keepAliveMs(value: number | string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  let ms: number;
  if (typeof value === 'number') {
    ms = value * 1000;
  } else {
    const m = /^(-?\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
    if (!m) {
      throw new InvalidRequestError(`Invalid value for 'keep_alive': ${value}`, 'keep_alive');
    }
    const n = Number(m[1]);
    const unit = m[2] ?? 's';
    const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
    ms = n * factor;
  }
  if (Number.isNaN(ms)) {
    throw new InvalidRequestError(`Invalid value for 'keep_alive': ${value}`, 'keep_alive');
  }
  return ms >= MAX_TIMER_MS ? -1 : ms;
}
