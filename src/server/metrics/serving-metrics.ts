/**
 * Prometheus metrics with vLLM's names under the `orchard:` prefix, labelled by model and
 * version, in a registry of our own (no process-global state). Engine gauges are read from
 * the loaded engines at scrape time; request figures are recorded as requests stream.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Engine } from '../../engine/types.js';
import type { FinishReason } from '../../shared/sampling.js';
import { LatencyWindow, TokenRate } from './latency-window.js';

export interface LoadedEngineRef {
  /** servedName, `model@version`. */
  name: string;
  model: string;
  version: string;
  engine: Engine;
}

const LABELS = ['model', 'version'] as const;

// vLLM's buckets, so dashboards built for vLLM read these the same way.
const TTFT_BUCKETS = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
  160, 640, 2560,
];
const ITL_BUCKETS = [
  0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
];
const REQUEST_BUCKETS = [
  0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
];

/** `chat@2` → { model: 'chat', version: '2' }. */
export function splitServedName(servedName: string): { model: string; version: string } {
  const at = servedName.lastIndexOf('@');
  if (at <= 0) return { model: servedName, version: '' };
  return { model: servedName.slice(0, at), version: servedName.slice(at + 1) };
}

export interface RequestResult {
  ok: boolean;
  promptTokens: number;
  completionTokens: number;
  cachedPromptTokens: number;
  finishReasons: FinishReason[];
  queueMs?: number;
}

export class ServingMetrics {
  readonly registry = new Registry();
  readonly window = new LatencyWindow();
  readonly tokenRate = new TokenRate();
  private readonly promptTokens: Counter<'model' | 'version'>;
  private readonly generationTokens: Counter<'model' | 'version'>;
  private readonly prefixQueries: Counter<'model' | 'version'>;
  private readonly prefixHits: Counter<'model' | 'version'>;
  private readonly success: Counter<'model' | 'version' | 'finished_reason'>;
  private readonly failures: Counter<'model' | 'version'>;
  readonly ttft: Histogram<'model' | 'version'>;
  readonly itl: Histogram<'model' | 'version'>;
  readonly e2e: Histogram<'model' | 'version'>;
  readonly queue: Histogram<'model' | 'version'>;

  constructor(loaded: () => LoadedEngineRef[]) {
    const registers = [this.registry];
    const engineGauge = (name: string, help: string, read: (e: Engine) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: LABELS,
        registers,
        collect() {
          this.reset();
          for (const l of loaded())
            this.set({ model: l.model, version: l.version }, read(l.engine));
        },
      });
    };
    engineGauge(
      'orchard:num_requests_running',
      'Requests in the engine batch.',
      (e) => e.stats().running,
    );
    engineGauge(
      'orchard:num_requests_waiting',
      'Requests waiting for a slot.',
      (e) => e.stats().waiting,
    );
    engineGauge('orchard:kv_cache_usage_perc', 'KV cache usage, 0..1.', (e) => e.stats().kv.usage);
    // Speculative decoding (vLLM's spec_decode set). The engine keeps these since it loaded, so
    // they are gauges: a reload starts them again from zero.
    engineGauge(
      'orchard:spec_decode_num_draft_tokens',
      'Draft tokens proposed since the version loaded.',
      (e) => e.stats().speculative.proposed,
    );
    engineGauge(
      'orchard:spec_decode_num_accepted_tokens',
      'Draft tokens accepted since the version loaded.',
      (e) => e.stats().speculative.accepted,
    );
    engineGauge(
      'orchard:spec_decode_acceptance_rate',
      'Accepted / proposed draft tokens, 0..1.',
      (e) => e.stats().speculative.acceptanceRate,
    );
    engineGauge(
      'orchard:spec_decode_mean_accepted_length',
      'Mean tokens kept per verification step.',
      (e) => e.stats().speculative.meanAcceptedLength,
    );
    const counter = (name: string, help: string): Counter<'model' | 'version'> =>
      new Counter({ name, help, labelNames: LABELS, registers });
    this.promptTokens = counter('orchard:prompt_tokens_total', 'Prompt tokens processed.');
    this.generationTokens = counter('orchard:generation_tokens_total', 'Tokens generated.');
    this.prefixQueries = counter(
      'orchard:prefix_cache_queries_total',
      'Prompt tokens looked up in the prefix cache.',
    );
    this.prefixHits = counter(
      'orchard:prefix_cache_hits_total',
      'Prompt tokens served from the prefix cache.',
    );
    this.success = new Counter({
      name: 'orchard:request_success_total',
      help: 'Finished choices by finish reason.',
      labelNames: [...LABELS, 'finished_reason'],
      registers,
    });
    this.failures = counter(
      'orchard:request_failure_total',
      'Requests that failed on the server side.',
    );
    const histogram = (
      name: string,
      help: string,
      buckets: number[],
    ): Histogram<'model' | 'version'> =>
      new Histogram({ name, help, labelNames: LABELS, buckets, registers });
    this.ttft = histogram(
      'orchard:time_to_first_token_seconds',
      'Time to first token.',
      TTFT_BUCKETS,
    );
    this.itl = histogram(
      'orchard:inter_token_latency_seconds',
      'Time between output tokens.',
      ITL_BUCKETS,
    );
    this.e2e = histogram(
      'orchard:e2e_request_latency_seconds',
      'Request latency, end to end.',
      REQUEST_BUCKETS,
    );
    this.queue = histogram(
      'orchard:request_queue_time_seconds',
      'Time spent waiting for a slot.',
      REQUEST_BUCKETS,
    );
  }

  startRequest(servedName: string, startedAt = performance.now()): RequestRecorder {
    return new RequestRecorder(this, servedName, startedAt);
  }

  /** Called by RequestRecorder.finish. */
  record(
    servedName: string,
    result: RequestResult,
    timing: { ttftMs?: number; tpotMs?: number; e2eMs: number },
  ): void {
    const labels = splitServedName(servedName);
    this.promptTokens.inc(labels, result.promptTokens);
    this.generationTokens.inc(labels, result.completionTokens);
    this.prefixQueries.inc(labels, result.promptTokens);
    this.prefixHits.inc(labels, result.cachedPromptTokens);
    if (result.ok) {
      for (const reason of result.finishReasons) {
        this.success.inc({ ...labels, finished_reason: reason });
      }
    } else {
      this.failures.inc(labels);
    }
    if (timing.ttftMs !== undefined) this.ttft.observe(labels, timing.ttftMs / 1000);
    this.e2e.observe(labels, timing.e2eMs / 1000);
    if (result.queueMs !== undefined) this.queue.observe(labels, result.queueMs / 1000);
    this.window.add(servedName, { ok: result.ok, ttftMs: timing.ttftMs, tpotMs: timing.tpotMs });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** One request's timeline: first token, gaps between tokens, end. */
export class RequestRecorder {
  private firstTokenAt: number | null = null;
  private lastTokenAt: number | null = null;
  private tokens = 0;
  private finished = false;
  private readonly labels: { model: string; version: string };

  constructor(
    private readonly metrics: ServingMetrics,
    readonly servedName: string,
    private readonly startedAt: number,
  ) {
    this.labels = splitServedName(servedName);
  }

  /**
   * New tokens arrived in one output: `perSequence` for one choice (more than one with
   * speculative decoding), `total` over all choices (n > 1).
   */
  onTokens(perSequence: number, total = perSequence, now = performance.now()): void {
    if (total > 0) this.metrics.tokenRate.add(total);
    const count = perSequence;
    if (count <= 0) return;
    if (this.firstTokenAt === null) {
      this.firstTokenAt = now;
    } else if (this.lastTokenAt !== null) {
      // Several tokens in one delta (speculative decoding) share the gap.
      const gap = (now - this.lastTokenAt) / 1000 / count;
      for (let i = 0; i < count; i++) this.metrics.itl.observe(this.labels, gap);
    }
    this.lastTokenAt = now;
    this.tokens += count;
  }

  get ttftMs(): number | undefined {
    return this.firstTokenAt === null ? undefined : this.firstTokenAt - this.startedAt;
  }

  /** Records the request once; later calls return the same figures without recording again. */
  finish(result: RequestResult, now = performance.now()): { ttftMs?: number; e2eMs: number } {
    const e2eMs = now - this.startedAt;
    const ttftMs = this.ttftMs;
    if (this.finished) return { ttftMs, e2eMs };
    this.finished = true;
    let tpotMs: number | undefined;
    if (this.firstTokenAt !== null && this.lastTokenAt !== null && this.tokens > 1) {
      tpotMs = (this.lastTokenAt - this.firstTokenAt) / (this.tokens - 1);
    }
    this.metrics.record(this.servedName, result, { ttftMs, tpotMs, e2eMs });
    return { ttftMs, e2eMs };
  }
}
