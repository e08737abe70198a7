/**
 * Turns the live snapshot ring and history buckets into uPlot's column data. Pure functions,
 * so what a chart shows follows directly from the numbers the service sent.
 */
import type { AlignedData } from 'uplot';
import type { LiveSnapshot, LoadedVersionView, MetricsBucket } from '../../api/types.js';

export type LiveMetric =
  | 'throughput'
  | 'ttftP50'
  | 'ttftP95'
  | 'tpotP50'
  | 'tpotP95'
  | 'running'
  | 'waiting'
  | 'kvUsage'
  | 'prefixHitRate'
  | 'draftAcceptance';

function loadedOf(s: LiveSnapshot, servedName: string): LoadedVersionView | undefined {
  return s.loaded.find((l) => l.servedName === servedName);
}

/** One value of `metric` for `servedName` at snapshot i (throughput needs the previous one). */
export function liveValue(
  history: LiveSnapshot[],
  i: number,
  servedName: string,
  metric: LiveMetric,
): number | null {
  const s = history[i];
  const lat = s.latency[servedName];
  switch (metric) {
    case 'ttftP50':
      return lat && lat.requests > 0 ? lat.ttftP50 : null;
    case 'ttftP95':
      return lat && lat.requests > 0 ? lat.ttftP95 : null;
    case 'tpotP50':
      return lat && lat.requests > 0 ? lat.tpotP50 : null;
    case 'tpotP95':
      return lat && lat.requests > 0 ? lat.tpotP95 : null;
    default:
      break;
  }
  const v = loadedOf(s, servedName);
  if (!v) return null;
  switch (metric) {
    case 'running':
      return v.stats.running;
    case 'waiting':
      return v.stats.waiting;
    case 'kvUsage':
      return v.stats.kv.usage;
    case 'prefixHitRate':
      return v.stats.prefixCache.hitRate;
    case 'draftAcceptance':
      // Only meaningful once speculative decoding proposed something.
      return v.stats.speculative && v.stats.speculative.proposed > 0
        ? v.stats.speculative.acceptanceRate
        : null;
    case 'throughput': {
      if (i === 0) return null;
      const prev = loadedOf(history[i - 1], servedName);
      if (!prev) return null;
      const dt = (s.at - history[i - 1].at) / 1000;
      const dTokens = v.stats.counters.generationTokens - prev.stats.counters.generationTokens;
      // A reload resets counters; a negative delta is not a rate.
      return dt > 0 && dTokens >= 0 ? dTokens / dt : null;
    }
  }
}

export interface SeriesSpec {
  servedName: string;
  metric: LiveMetric;
}

export function liveColumns(history: LiveSnapshot[], specs: SeriesSpec[]): AlignedData {
  const xs = history.map((s) => s.at / 1000);
  const ys = specs.map((spec) =>
    history.map((_, i) => liveValue(history, i, spec.servedName, spec.metric)),
  );
  return [xs, ...ys] as AlignedData;
}

/** The latest value over the last few snapshots (throughput averaged, others as of now). */
export function currentValue(
  history: LiveSnapshot[],
  servedName: string,
  metric: LiveMetric,
): number | null {
  if (history.length === 0) return null;
  if (metric === 'throughput') {
    const from = Math.max(1, history.length - 5);
    let sum = 0;
    let n = 0;
    for (let i = from; i < history.length; i++) {
      const v = liveValue(history, i, servedName, metric);
      if (v !== null) {
        sum += v;
        n++;
      }
    }
    return n > 0 ? sum / n : null;
  }
  return liveValue(history, history.length - 1, servedName, metric);
}

export type HistoryMetric =
  'requests' | 'errors' | 'completionTokens' | 'ttftP50' | 'ttftP95' | 'e2eP50' | 'e2eP95';

/**
 * Buckets of several versions on one minute axis; missing minutes are gaps. Each series takes
 * the buckets of its own served version, by name: an answer fetched for other versions (the
 * comparison changed while it loaded) leaves the series empty rather than mislabelled.
 */
export function historyColumns(
  byVersion: Array<{ served: string; buckets: MetricsBucket[] }>,
  metrics: Array<{ served: string; metric: HistoryMetric }>,
): AlignedData {
  const minutes = new Set<number>();
  const maps = new Map<string, Map<number, MetricsBucket>>();
  const wanted = new Set(metrics.map((m) => m.served));
  for (const { served, buckets } of byVersion) {
    if (!wanted.has(served)) continue;
    const m = new Map<number, MetricsBucket>();
    for (const b of buckets) {
      const t = Date.parse(b.minute) / 1000;
      if (!Number.isFinite(t)) continue;
      m.set(t, b);
      minutes.add(t);
    }
    maps.set(served, m);
  }
  const xs = [...minutes].sort((a, b) => a - b);
  const ys = metrics.map(({ served, metric }) =>
    xs.map((t) => {
      const b = maps.get(served)?.get(t);
      if (!b) return null;
      if ((metric.startsWith('ttft') || metric.startsWith('e2e')) && b.requests === 0) return null;
      return b[metric];
    }),
  );
  return [xs, ...ys] as AlignedData;
}
