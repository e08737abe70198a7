/**
 * Per-version metrics history: minute buckets for the last 7 days, hour buckets (compacted from
 * minutes) up to 90 days. Percentiles of merged buckets are request-weighted means — close
 * enough for trend charts, and the exact figures of the recent past stay at minute resolution.
 */
import type { MetricsBucket } from '../shared/admin-api.js';
import type { RegistryDb } from './db.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const MINUTE_RETENTION_MS = 7 * 24 * HOUR_MS;
export const HOUR_RETENTION_MS = 90 * 24 * HOUR_MS;

export interface BucketValues {
  requests: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  ttftP50: number;
  ttftP95: number;
  e2eP50: number;
  e2eP95: number;
  shadowRequests: number;
  shadowErrors: number;
  /** Shadow requests with a greedy stable answer to compare against. */
  shadowCompared: number;
  /** Mean token agreement (0..1) over the compared shadow requests. */
  shadowAgreement: number;
}

interface BucketRow {
  version_id: number;
  model: string;
  version: string;
  resolution: 'minute' | 'hour';
  start_ms: number;
  requests: number;
  errors: number;
  prompt_tokens: number;
  completion_tokens: number;
  ttft_p50: number;
  ttft_p95: number;
  e2e_p50: number;
  e2e_p95: number;
  shadow_requests: number;
  shadow_errors: number;
  shadow_compared: number;
  shadow_agreement: number;
}

function rowValues(r: BucketRow): BucketValues {
  return {
    requests: r.requests,
    errors: r.errors,
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    ttftP50: r.ttft_p50,
    ttftP95: r.ttft_p95,
    e2eP50: r.e2e_p50,
    e2eP95: r.e2e_p95,
    shadowRequests: r.shadow_requests,
    shadowErrors: r.shadow_errors,
    shadowCompared: r.shadow_compared,
    shadowAgreement: r.shadow_agreement,
  };
}

function wmean(a: number, wa: number, b: number, wb: number): number {
  return wa + wb === 0 ? 0 : (a * wa + b * wb) / (wa + wb);
}

export function mergeBuckets(a: BucketValues, b: BucketValues): BucketValues {
  const ra = a.requests;
  const rb = b.requests;
  return {
    requests: ra + rb,
    errors: a.errors + b.errors,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    ttftP50: wmean(a.ttftP50, ra, b.ttftP50, rb),
    ttftP95: wmean(a.ttftP95, ra, b.ttftP95, rb),
    e2eP50: wmean(a.e2eP50, ra, b.e2eP50, rb),
    e2eP95: wmean(a.e2eP95, ra, b.e2eP95, rb),
    shadowRequests: a.shadowRequests + b.shadowRequests,
    shadowErrors: a.shadowErrors + b.shadowErrors,
    shadowCompared: a.shadowCompared + b.shadowCompared,
    shadowAgreement: wmean(
      a.shadowAgreement,
      a.shadowCompared,
      b.shadowAgreement,
      b.shadowCompared,
    ),
  };
}

export function emptyBucket(): BucketValues {
  return {
    requests: 0,
    errors: 0,
    promptTokens: 0,
    completionTokens: 0,
    ttftP50: 0,
    ttftP95: 0,
    e2eP50: 0,
    e2eP95: 0,
    shadowRequests: 0,
    shadowErrors: 0,
    shadowCompared: 0,
    shadowAgreement: 0,
  };
}

export function toMetricsBucket(
  model: string,
  version: string,
  startMs: number,
  v: BucketValues,
  resolution: 'minute' | 'hour',
): MetricsBucket {
  return {
    minute: new Date(startMs).toISOString(),
    model,
    version,
    requests: v.requests,
    errors: v.errors,
    promptTokens: v.promptTokens,
    completionTokens: v.completionTokens,
    ttftP50: v.ttftP50,
    ttftP95: v.ttftP95,
    e2eP50: v.e2eP50,
    e2eP95: v.e2eP95,
    resolution,
    shadow:
      v.shadowRequests > 0
        ? {
            requests: v.shadowRequests,
            errors: v.shadowErrors,
            compared: v.shadowCompared,
            agreement: v.shadowAgreement,
          }
        : undefined,
  };
}

export class MetricsRepo {
  constructor(private readonly db: RegistryDb) {}

  /** Adds to a bucket, merging with what an earlier flush of the same period wrote. */
  add(versionId: number, resolution: 'minute' | 'hour', startMs: number, v: BucketValues): void {
    const existing = this.db
      .prepare(
        'SELECT * FROM metrics_buckets WHERE version_id = ? AND resolution = ? AND start_ms = ?',
      )
      .get(versionId, resolution, startMs) as BucketRow | undefined;
    const m = existing ? mergeBuckets(rowValues(existing), v) : v;
    this.db
      .prepare(
        `INSERT OR REPLACE INTO metrics_buckets (version_id, resolution, start_ms, requests, errors, prompt_tokens,
           completion_tokens, ttft_p50, ttft_p95, e2e_p50, e2e_p95, shadow_requests, shadow_errors, shadow_compared,
           shadow_agreement)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        versionId,
        resolution,
        startMs,
        m.requests,
        m.errors,
        m.promptTokens,
        m.completionTokens,
        m.ttftP50,
        m.ttftP95,
        m.e2eP50,
        m.e2eP95,
        m.shadowRequests,
        m.shadowErrors,
        m.shadowCompared,
        m.shadowAgreement,
      );
  }

  addMany(entries: Array<{ versionId: number; startMs: number; values: BucketValues }>): void {
    this.db.transaction(() => {
      for (const e of entries) this.add(e.versionId, 'minute', e.startMs, e.values);
    })();
  }

  query(filter: { model?: string; version?: string; sinceMs: number }): MetricsBucket[] {
    const rows = this.db
      .prepare(
        `SELECT b.*, m.name AS model, v.version AS version FROM metrics_buckets b
         JOIN versions v ON v.id = b.version_id JOIN models m ON m.id = v.model_id
         WHERE b.start_ms >= @since AND (@model IS NULL OR m.name = @model) AND (@version IS NULL OR v.version = @version)
         ORDER BY b.start_ms, m.name, v.version`,
      )
      .all({
        since: filter.sinceMs,
        model: filter.model ?? null,
        version: filter.version ?? null,
      }) as BucketRow[];
    return rows.map((r) =>
      toMetricsBucket(r.model, r.version, r.start_ms, rowValues(r), r.resolution),
    );
  }

  /** Folds minute buckets older than 7 days into hour buckets; drops hours older than 90 days. */
  compact(nowMs: number): { foldedMinutes: number; droppedHours: number } {
    return this.db.transaction(() => {
      const cutoff = nowMs - MINUTE_RETENTION_MS;
      const old = this.db
        .prepare("SELECT * FROM metrics_buckets WHERE resolution = 'minute' AND start_ms < ?")
        .all(cutoff) as BucketRow[];
      const hours = new Map<string, { versionId: number; startMs: number; values: BucketValues }>();
      for (const r of old) {
        const startMs = Math.floor(r.start_ms / HOUR_MS) * HOUR_MS;
        const key = `${r.version_id}:${startMs}`;
        const prev = hours.get(key);
        hours.set(key, {
          versionId: r.version_id,
          startMs,
          values: prev ? mergeBuckets(prev.values, rowValues(r)) : rowValues(r),
        });
      }
      for (const h of hours.values()) this.add(h.versionId, 'hour', h.startMs, h.values);
      this.db
        .prepare("DELETE FROM metrics_buckets WHERE resolution = 'minute' AND start_ms < ?")
        .run(cutoff);
      const dropped = this.db
        .prepare("DELETE FROM metrics_buckets WHERE resolution = 'hour' AND start_ms < ?")
        .run(nowMs - HOUR_RETENTION_MS).changes;
      return { foldedMinutes: old.length, droppedHours: dropped };
    })();
  }
}
