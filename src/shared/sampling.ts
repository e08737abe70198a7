/**
 * What one generation request asks of the engine. Token-level only: the service has already
 * applied the chat template and tokenized; stop strings are matched on the host side.
 */
export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  topP: number;
  /** 0 or less disables top-k. */
  topK: number;
  minP: number;
  presencePenalty: number;
  frequencyPenalty: number;
  /** 1 disables it (Hugging Face / vLLM semantics: divides positive logits, multiplies negative). */
  repetitionPenalty: number;
  /** token id → bias added to the logit, -100..100 as in OpenAI. */
  logitBias: Record<number, number>;
  /** Per-request generator seed; the same seed gives the same text whatever else is in the batch. */
  seed: number | null;
  maxTokens: number;
  /** Extra stop token ids beyond the model's end-of-sequence ids. */
  stopTokenIds: number[];
  /** Stop strings, matched across token boundaries and never emitted. */
  stop: string[];
  /** Number of choices; they share the prompt's KV blocks. */
  n: number;
  /** Return the chosen token's logprob. */
  logprobs: boolean;
  /** How many top alternatives to return with each token (0..20). */
  topLogprobs: number;
  ignoreEos: boolean;
  /**
   * Speculative decoding for this request: a draft model proposes tokens, or prompt lookup
   * (n-gram matches in the prompt and output so far); the target verifies them, so the output
   * distribution is unchanged. Absent: the engine's default (EngineOptions.speculative).
   */
  speculative?: SpeculativeMode;
}

export type SpeculativeMode = 'off' | 'draft' | 'lookup';

export const DEFAULT_SAMPLING: Readonly<SamplingParams> = Object.freeze({
  temperature: 1,
  topP: 1,
  topK: 0,
  minP: 0,
  presencePenalty: 0,
  frequencyPenalty: 0,
  repetitionPenalty: 1,
  logitBias: {},
  seed: null,
  maxTokens: 256,
  stopTokenIds: [],
  stop: [],
  n: 1,
  logprobs: false,
  topLogprobs: 0,
  ignoreEos: false,
});

export function samplingParams(overrides: Partial<SamplingParams> = {}): SamplingParams {
  return { ...DEFAULT_SAMPLING, logitBias: {}, stopTokenIds: [], stop: [], ...overrides };
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface TopLogprob {
  tokenId: number;
  token: string;
  logprob: number;
  bytes: number[];
}

export interface TokenLogprob extends TopLogprob {
  top: TopLogprob[];
}
