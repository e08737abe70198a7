/**
 * Collects request outcomes per version and minute in memory and writes each minute to the
 * metrics history once it is over (and everything on close), so the hot path never touches
 * SQLite. Percentiles are exact within a minute.
 */
import type { RequestOutcome } from '../service/model-provider.js';
import { percentile } from '../deploy/policy.js';
import { MINUTE_MS, emptyBucket, type BucketValues, type MetricsRepo } from './metrics-repo.js';

interface Accumulator {
  versionId: number;
  startMs: number;
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  ttft: number[];
  e2e: number[];
  shadowRequests: number;
  shadowErrors: number;
  shadowCompared: number;
  shadowAgreementSum: number;
}

export interface ShadowOutcome {
  ok: boolean;
  ttftMs?: number;
  e2eMs: number;
  /** Token agreement with stable (0..1), on greedy requests only. */
  agreement: number | null;
}

const MAX_SAMPLES = 5000;

export class MetricsRecorder {
  private readonly open = new Map<string, Accumulator>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: MetricsRepo,
    private readonly now: () => number = Date.now,
  ) {}

  /** Flushes finished minutes every 15 s and compacts old history every hour. */
  start(): void {
    let ticks = 0;
    this.repo.compact(this.now());
    this.timer = setInterval(() => {
      this.flush(false);
      if (++ticks % 240 === 0) this.repo.compact(this.now());
    }, 15_000);
    this.timer.unref();
  }

  private acc(versionId: number): Accumulator {
    const startMs = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    const key = `${versionId}:${startMs}`;
    let a = this.open.get(key);
    if (!a) {
      a = {
        versionId,
        startMs,
        requests: 0,
        errors: 0,
        promptTokens: 0,
        completionTokens: 0,
        ttft: [],
        e2e: [],
        shadowRequests: 0,
        shadowErrors: 0,
        shadowCompared: 0,
        shadowAgreementSum: 0,
      };
      this.open.set(key, a);
    }
    return a;
  }

  record(versionId: number, o: RequestOutcome): void {
    if (o.counted === false) return;
    const a = this.acc(versionId);
    a.requests++;
    if (!o.ok) a.errors++;
    a.promptTokens += o.promptTokens;
    a.completionTokens += o.completionTokens;
    if (o.ok && o.ttftMs !== undefined && a.ttft.length < MAX_SAMPLES) a.ttft.push(o.ttftMs);
    if (o.ok && a.e2e.length < MAX_SAMPLES) a.e2e.push(o.e2eMs);
  }

  recordShadow(versionId: number, o: ShadowOutcome): void {
    const a = this.acc(versionId);
    a.shadowRequests++;
    if (!o.ok) a.shadowErrors++;
    if (o.agreement !== null) {
      a.shadowCompared++;
      a.shadowAgreementSum += o.agreement;
    }
    if (o.ok && o.ttftMs !== undefined && a.ttft.length < MAX_SAMPLES) a.ttft.push(o.ttftMs);
    if (o.ok && a.e2e.length < MAX_SAMPLES) a.e2e.push(o.e2eMs);
  }

  /** What the current, unflushed minutes hold (the history API adds them to stored rows). */
  pending(): Array<{ versionId: number; startMs: number; values: BucketValues }> {
    return [...this.open.values()].map((a) => ({
      versionId: a.versionId,
      startMs: a.startMs,
      values: values(a),
    }));
  }

  /** Writes finished minutes (all of them when `everything`). */
  flush(everything = true): void {
    const current = Math.floor(this.now() / MINUTE_MS) * MINUTE_MS;
    const ready = [...this.open.entries()].filter(([, a]) => everything || a.startMs < current);
    if (ready.length === 0) return;
    this.repo.addMany(
      ready.map(([, a]) => ({ versionId: a.versionId, startMs: a.startMs, values: values(a) })),
    );
    for (const [k] of ready) this.open.delete(k);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush(true);
  }
}

function values(a: Accumulator): BucketValues {
  return {
    ...emptyBucket(),
    requests: a.requests,
    errors: a.errors,
    promptTokens: a.promptTokens,
    completionTokens: a.completionTokens,
    ttftP50: percentile(a.ttft, 50) ?? 0,
    ttftP95: percentile(a.ttft, 95) ?? 0,
    e2eP50: percentile(a.e2e, 50) ?? 0,
    e2eP95: percentile(a.e2e, 95) ?? 0,
    shadowRequests: a.shadowRequests,
    shadowErrors: a.shadowErrors,
    shadowCompared: a.shadowCompared,
    shadowAgreement: a.shadowCompared > 0 ? a.shadowAgreementSum / a.shadowCompared : 0,
  };
}
