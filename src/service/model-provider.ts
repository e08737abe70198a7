/**
 * How the HTTP layer finds an engine for a `model` name. The plain provider serves the bundled
 * model; the registry-backed provider adds deployments, versions, canaries and shadows behind
 * the same interface, so routes never know which one they talk to.
 */
import type { Engine, GenerateRequest } from '../engine/types.js';

export interface ServedModel {
  /** What clients pass as `model` (a deployment name, or `name@version`). */
  id: string;
  created: number;
  ownedBy: string;
}

export interface RequestOutcome {
  ok: boolean;
  error?: string;
  /** Milliseconds. */
  ttftMs?: number;
  e2eMs: number;
  promptTokens: number;
  completionTokens: number;
  /** First choice's output tokens, for shadow agreement on greedy requests. */
  outputTokenIds?: number[];
  /**
   * False for requests that do not generate (/tokenize, /detokenize): the lease still ends, but
   * neither the metrics history nor a canary's live window counts them.
   */
  counted?: boolean;
}

export interface ModelLease {
  engine: Engine;
  /** The version that serves this request, as shown in the response's `model` (e.g. `chat@2`). */
  servedName: string;
  /** Called exactly once when the request ends, with what happened (feeds metrics and canaries). */
  done(outcome: RequestOutcome): void;
  /** Mirror the request to a shadow candidate, if the deployment has one; a no-op otherwise. */
  mirror(request: GenerateRequest): void;
}

export interface AcquireContext {
  /** OpenAI `user`: canary routing is sticky per user when given. */
  user?: string;
  /** Per-request keep-alive override (ms), like Ollama's `keep_alive`. */
  keepAliveMs?: number;
  signal?: AbortSignal;
}

export interface ModelProvider {
  listModels(): ServedModel[];
  /** Throws ModelNotFoundError for unknown names, NotReadyError when nothing can serve yet. */
  acquire(model: string, context: AcquireContext): Promise<ModelLease>;
  /** A model is loaded and answering. */
  isReady(): boolean;
  /** Loaded engines, for /metrics gauges and the UI. */
  loaded(): Array<{ name: string; model: string; version: string; engine: Engine }>;
  close(): Promise<void>;
}
