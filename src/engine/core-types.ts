/**
 * Contract between the engine core (token level, inside the worker) and the engine host
 * (text level, in the service). The host turns CoreOutputs into text with the detokenizer and
 * stop-string matcher; the core never sees text.
 */
import type { FinishReason, SamplingParams } from '../shared/sampling.js';

export interface CoreRequest {
  id: string;
  promptTokenIds: number[];
  params: SamplingParams;
}

export interface CoreTopLogprob {
  tokenId: number;
  logprob: number;
}

export interface CoreTokenLogprob extends CoreTopLogprob {
  top: CoreTopLogprob[];
}

export interface CoreChoiceOutput {
  index: number;
  /** Tokens sampled this step for this choice (more than one with speculative decoding). */
  newTokenIds: number[];
  /** One per new token when params.logprobs. */
  logprobs: CoreTokenLogprob[];
  /** 'stop' on an end-of-sequence or stop token id, 'length' at max tokens or context end. */
  finishReason: FinishReason | null;
}

export interface CoreOutput {
  requestId: string;
  choices: CoreChoiceOutput[];
  /** Every choice has finished (the request's blocks are released). */
  finished: boolean;
  promptTokens: number;
  /** Prompt tokens served from the prefix cache (known once prefill is scheduled). */
  cachedPromptTokens: number;
}

export interface EngineCoreConfig {
  numBlocks: number;
  blockSize: number;
  maxRunning: number;
  maxWaiting: number;
  maxBatchTokens: number;
  enablePrefixCaching: boolean;
  /** The model's context length: prompt + output never exceeds it. */
  maxModelLen: number;
  eosTokenIds: number[];
}
