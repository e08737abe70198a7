/**
 * The engine's public surface for the service. Everything here is plain data: no HTTP types,
 * no JSON bodies. The worker-side protocol lives in src/shared/engine-protocol.ts.
 */
import type {
  FinishReason,
  SamplingParams,
  SpeculativeMode,
  TokenLogprob,
} from '../shared/sampling.js';

export type ExecutionProviderName = 'auto' | 'cpu' | 'cuda' | 'dml' | 'coreml' | 'webgpu';

export interface EngineOptions {
  /** `auto` picks the best available provider and falls back to CPU, saying why. */
  executionProvider: ExecutionProviderName;
  /** ONNX Runtime intra-op threads (shared among replicas); 0 lets ONNX Runtime decide. */
  threads: number;
  /**
   * Engine workers for the model, each with its own session, threads and share of the KV
   * budget (engine-replicas.ts); 0 = auto (2 for a small model on CPU with 2+ threads). Unset
   * means 1. maxRunningRequests and maxWaitingRequests apply per replica.
   */
  replicas?: number;
  /** Memory budget of the KV block pool, bytes. */
  kvCacheBytes: number;
  /** Tokens per KV block. */
  blockSize: number;
  maxRunningRequests: number;
  /** Beyond this many waiting requests, generate() rejects with BusyError. */
  maxWaitingRequests: number;
  /** Token budget of one engine step (decode tokens + prefill chunks). */
  maxBatchTokens: number;
  enablePrefixCaching: boolean;
  /** Speculative decoding for requests that do not choose (SamplingParams.speculative); default off. */
  speculative?: SpeculativeMode;
  /**
   * Draft model folder for speculative 'draft' (same tokenizer as the model). Without one,
   * 'draft' requests run without speculation.
   */
  draftModelDir?: string | null;
  /**
   * Speculation switches itself off while more sequences than this are running (a large batch
   * keeps the hardware busy already). Default 4, measured on CPU by `npm run bench:spec`.
   */
  speculativeMaxRunning?: number;
  /** Most draft tokens verified per step (the draft length adapts between 1 and this). Default 8. */
  speculativeMaxDrafts?: number;
  /**
   * 'draft' mode also uses prompt-lookup proposals when they promise more than the draft model
   * (they cost no draft-model run). Default true.
   */
  speculativeDraftUsesLookup?: boolean;
  /**
   * What a draft-model step costs relative to a plain decode step: once per step and per draft
   * token. Speculation runs only when the acceptance rate makes it pay. Default
   * { perStep: 0.6, perDraft: 0.35 }, measured on CPU; a GPU, where the draft model is cheap,
   * warrants lower values.
   */
  speculativeDraftCost?: { perStep: number; perDraft: number };
}

export interface SamplingDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
}

export interface ModelInfo {
  /** Absolute path of the model folder. */
  dir: string;
  modelType: string;
  contextLength: number;
  vocabSize: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  kvDtype: 'float32' | 'float16';
  /** Parameter count from the weights, when known. */
  numParams: number | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
  /** The provider actually in use, and why it was chosen (e.g. "cuda not bundled; using cpu"). */
  executionProvider: string;
  executionProviderReason: string;
  /**
   * The model's recommended sampling (generation_config.json), applied where a request does not
   * choose, as vLLM does by default.
   */
  samplingDefaults?: SamplingDefaults;
  /** The draft model loaded for speculative 'draft' decoding, if any. */
  draftModelDir?: string | null;
  /** Engine workers serving this model (see engine-replicas.ts), threads each, and why. */
  replicas?: number;
  threadsPerReplica?: number;
  /** Threads of each replica's session for when it has the cores alone (0 = none). */
  wideThreads?: number;
  replicasReason?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool' | 'developer';
  content: string;
}

/** Host-side tokenizer: tokenization and chat templates run in the service, not the worker. */
export interface ModelTokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: number[];
  encode(text: string, options?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], options?: { skipSpecialTokens?: boolean }): string;
  /** The token's raw bytes (for logprobs' `bytes` and the UTF-8-safe detokenizer). */
  tokenBytes(id: number): Uint8Array;
  applyChatTemplate(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): string;
}

export interface GenerateRequest {
  /** Optional caller id, for logs. */
  requestId?: string;
  promptTokenIds: number[];
  params: SamplingParams;
}

export interface ChoiceDelta {
  index: number;
  /** New text since the previous output for this choice (never a broken UTF-8 sequence). */
  text: string;
  tokenIds: number[];
  /** One entry per token in tokenIds when params.logprobs. */
  logprobs: TokenLogprob[];
  finishReason: FinishReason | null;
}

export interface GenerateUsage {
  promptTokens: number;
  completionTokens: number;
  /** Prompt tokens served from the prefix cache. */
  cachedPromptTokens: number;
}

export interface GenerateOutput {
  /** Only the choices that have something new. */
  choices: ChoiceDelta[];
  /** Present on the last output of the stream only. */
  usage?: GenerateUsage;
  /** Present on the last output: milliseconds spent waiting, to first token, in total. */
  timing?: { queueMs: number; firstTokenMs: number; totalMs: number };
}

export interface EngineStats {
  running: number;
  waiting: number;
  kv: {
    blockSize: number;
    totalBlocks: number;
    usedBlocks: number;
    /** usedBlocks / totalBlocks. */
    usage: number;
    bytesPerToken: number;
    capacityTokens: number;
  };
  prefixCache: { queriedTokens: number; hitTokens: number; hitRate: number };
  counters: {
    promptTokens: number;
    generationTokens: number;
    steps: number;
    preemptions: number;
    finished: Record<FinishReason, number>;
  };
  /** Speculative decoding since the engine started. */
  speculative: {
    /** Draft tokens sent to the target for verification. */
    proposed: number;
    accepted: number;
    /** Verifications: one per sequence per step that carried drafts (a counter, for rates). */
    verifications: number;
    /** accepted / proposed (0 before any proposal). */
    acceptanceRate: number;
    /** Tokens emitted per verification step, the target's own token included (1 + accepted drafts). */
    meanAcceptedLength: number;
  };
}

export interface LoadProgress {
  stage: string;
  /** 0..1 */
  fraction: number;
}

export interface Engine {
  readonly info: ModelInfo;
  readonly tokenizer: ModelTokenizer;
  /**
   * Streams outputs until every choice has finished. Aborting the signal ends the stream with
   * finishReason 'abort' and frees the request's KV blocks at the next engine step.
   * Rejects with BusyError when the waiting queue is full, ContextLengthExceededError when the
   * prompt plus max tokens cannot fit the model's context.
   */
  generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateOutput>;
  /** Latest snapshot reported by the worker. */
  stats(): EngineStats;
  /** Aborts everything in flight and stops the worker. */
  unload(): Promise<void>;
}
