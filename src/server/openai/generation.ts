/**
 * One OpenAI request's run on a leased engine: starts the engine stream(s) with an abort
 * signal, records token timing for metrics, and reports the outcome to the lease exactly once.
 * Several prompts (text completions with a prompt list) run side by side and are merged.
 */
import type { GenerateOutput, GenerateRequest, GenerateUsage } from '../../engine/types.js';
import { BusyError, NotReadyError, OrchardError } from '../../shared/errors.js';
import type { FinishReason } from '../../shared/sampling.js';
import type { ModelLease } from '../../service/model-provider.js';
import { CLIENT_GONE_REASON, SHUTDOWN_REASON, type Inflight } from '../inflight.js';
import type { RequestRecorder, ServingMetrics } from '../metrics/serving-metrics.js';

export interface PromptOutput {
  prompt: number;
  output: GenerateOutput;
}

export interface GenerationDeps {
  metrics: ServingMetrics;
  inflight: Inflight;
}

async function* tagged(
  prompt: number,
  source: AsyncIterable<GenerateOutput>,
): AsyncGenerator<PromptOutput> {
  for await (const output of source) yield { prompt, output };
}

/** Interleaves several async streams in arrival order. */
async function* merge<T>(sources: AsyncIterable<T>[]): AsyncGenerator<T> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const pull = (i: number): void => {
    const p = iterators[i].next().then((r) => ({ i, r }));
    p.catch(() => undefined);
    pending.set(i, p);
  };
  iterators.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
      } else {
        pull(i);
        yield r.value;
      }
    }
  } finally {
    for (const i of pending.keys()) void iterators[i].return?.();
  }
}

export class Generation {
  readonly usage: GenerateUsage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0 };
  readonly finishReasons = new Map<string, FinishReason>();
  private queueMs: number | undefined;
  private readonly firstChoiceTokens: number[] = [];
  private readonly recorder: RequestRecorder;
  private readonly release: () => void;
  private ended = false;

  constructor(
    readonly lease: ModelLease,
    private readonly controller: AbortController,
    deps: GenerationDeps,
    startedAt: number,
    /** Its registration in deps.inflight, when the caller made it already. */
    release?: () => void,
  ) {
    this.recorder = deps.metrics.startRequest(lease.servedName, startedAt);
    this.release = release ?? deps.inflight.add(controller);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get clientGone(): boolean {
    return this.signal.aborted && this.signal.reason === CLIENT_GONE_REASON;
  }

  get cancelledByShutdown(): boolean {
    return this.signal.aborted && this.signal.reason === SHUTDOWN_REASON;
  }

  /** The engine streams, merged; call once. */
  async *run(requests: GenerateRequest[]): AsyncGenerator<PromptOutput> {
    const engine = this.lease.engine;
    const streams = requests.map((r, i) => tagged(i, engine.generate(r, this.signal)));
    const source = streams.length === 1 ? streams[0] : merge(streams);
    const seenUsage = new Set<number>();
    for await (const item of source) {
      let perSequence = 0;
      let total = 0;
      for (const c of item.output.choices) {
        perSequence = Math.max(perSequence, c.tokenIds.length);
        total += c.tokenIds.length;
        if (item.prompt === 0 && c.index === 0) this.firstChoiceTokens.push(...c.tokenIds);
        if (c.finishReason) this.finishReasons.set(`${item.prompt}:${c.index}`, c.finishReason);
      }
      this.recorder.onTokens(perSequence, total);
      if (item.output.usage && !seenUsage.has(item.prompt)) {
        seenUsage.add(item.prompt);
        this.usage.promptTokens += item.output.usage.promptTokens;
        this.usage.completionTokens += item.output.usage.completionTokens;
        this.usage.cachedPromptTokens += item.output.usage.cachedPromptTokens;
      }
      if (item.output.timing && this.queueMs === undefined)
        this.queueMs = item.output.timing.queueMs;
      yield item;
    }
  }

  /** After a cancelled run: the error the client should see, if it is still there. */
  throwIfCancelled(): void {
    if (this.cancelledByShutdown) {
      throw new NotReadyError('The server is shutting down; the request was cancelled.');
    }
  }

  /** Reports the outcome to metrics and the lease; only the first call counts. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    // Only failures of the serving side count against a version (canary error rates);
    // bad requests and clients that hang up do not.
    const serverFailure =
      error !== undefined &&
      (!(error instanceof OrchardError) || error.status >= 500 || error instanceof BusyError);
    const finishReasons = [...this.finishReasons.values()];
    const timing = this.recorder.finish({
      ok: !serverFailure,
      promptTokens: this.usage.promptTokens,
      completionTokens: this.usage.completionTokens,
      cachedPromptTokens: this.usage.cachedPromptTokens,
      finishReasons,
      queueMs: this.queueMs,
    });
    this.lease.done({
      ok: !serverFailure,
      ...(error !== undefined
        ? { error: error instanceof Error ? error.message : String(error) }
        : {}),
      ttftMs: timing.ttftMs,
      e2eMs: timing.e2eMs,
      promptTokens: this.usage.promptTokens,
      completionTokens: this.usage.completionTokens,
      outputTokenIds: this.firstChoiceTokens,
      // Cut short by our own shutdown: says nothing about the version (a canary being
      // rolled back because the app quit would be wrong).
      ...(this.cancelledByShutdown ? { counted: false } : {}),
    });
  }
}
