/** Pieces of OpenAI response bodies shared by chat and text completions. */
import crypto from 'node:crypto';
import type { GenerateUsage } from '../../engine/types.js';
import type { FinishReason } from '../../shared/sampling.js';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageBody(u: GenerateUsage): OpenAIUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedPromptTokens },
  };
}

export function responseId(prefix: 'chatcmpl' | 'cmpl'): string {
  return `${prefix}-${crypto.randomBytes(12).toString('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** What every response and chunk carries. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
  systemFingerprint: string;
}

/**
 * What clients see. The engine's internal 'abort' (client gone, shutdown drain) is no OpenAI
 * value: streams leave an aborted choice unfinished (the stream itself ends with an error
 * event), and a whole response — which normally never carries it — reports 'stop'.
 */
export type OpenAIFinishReason = Exclude<FinishReason, 'abort'>;

/** A finish reason for a stream chunk: null for an aborted (or unfinished) choice. */
export function chunkFinishReason(r: FinishReason | null): OpenAIFinishReason | null {
  return r === 'abort' ? null : r;
}

/** A finish reason for a whole response: never null, never 'abort'. */
export function responseFinishReason(r: FinishReason | null): OpenAIFinishReason {
  return r === null || r === 'abort' ? 'stop' : r;
}
