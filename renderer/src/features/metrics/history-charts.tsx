/** Per-minute history from /api/metrics/history for the compared versions. */
import { useCallback, useEffect, useMemo } from 'react';
import { admin } from '../../api/admin.js';
import { useResource } from '../../api/hooks.js';
import type { MetricsBucket } from '../../api/types.js';
import { formatCount, formatMs } from '../../components/format.js';
import { ErrorState, Loading } from '../../components/states.js';
import { TimeChart, type ChartSeries } from '../../components/time-chart.js';
import { historyColumns, type HistoryMetric } from './series.js';
import type { Target } from './targets.js';

interface HistoryChartDef {
  title: string;
  metrics: Array<{ metric: HistoryMetric; suffix: string; dashed?: boolean }>;
  format: (v: number) => string;
}

const CHARTS: HistoryChartDef[] = [
  {
    title: 'Requests per minute',
    metrics: [{ metric: 'requests', suffix: '' }],
    format: (v) => formatCount(v),
  },
  {
    title: 'Generated tokens per minute',
    metrics: [{ metric: 'completionTokens', suffix: '' }],
    format: (v) => formatCount(v),
  },
  {
    title: 'Time to first token',
    metrics: [
      { metric: 'ttftP50', suffix: ' p50' },
      { metric: 'ttftP95', suffix: ' p95', dashed: true },
    ],
    format: formatMs,
  },
  {
    title: 'Request latency (end to end)',
    metrics: [
      { metric: 'e2eP50', suffix: ' p50' },
      { metric: 'e2eP95', suffix: ' p95', dashed: true },
    ],
    format: formatMs,
  },
  {
    title: 'Errors per minute',
    metrics: [{ metric: 'errors', suffix: '' }],
    format: (v) => formatCount(v),
  },
];

export function HistoryCharts({ targets, minutes }: { targets: Target[]; minutes: number }) {
  const key = targets.map((t) => t.servedName).join(',');
  const load = useCallback(
    async (signal: AbortSignal) => {
      const byVersion = await Promise.all(
        key
          .split(',')
          .filter(Boolean)
          .map(async (served) => {
            const at = served.lastIndexOf('@');
            const buckets: MetricsBucket[] = await admin.metricsHistory(
              { model: served.slice(0, at), version: served.slice(at + 1), minutes },
              signal,
            );
            return { served, buckets };
          }),
      );
      // The charts show the whole chosen period, up to the moment of the answer.
      const end = Date.now() / 1000;
      return { byVersion, xRange: [end - minutes * 60, end] as [number, number] };
    },
    [key, minutes],
  );
  const history = useResource(load);
  const reload = history.reload;
  // The current minute keeps filling; refresh while the view is open.
  useEffect(() => {
    const t = setInterval(reload, 30_000);
    return () => clearInterval(t);
  }, [reload]);

  const charts = useMemo(() => {
    const byVersion = history.data?.byVersion ?? [];
    return CHARTS.map((def) => {
      const series: ChartSeries[] = [];
      const metrics: Array<{ served: string; metric: HistoryMetric }> = [];
      targets.forEach((t) => {
        for (const m of def.metrics) {
          series.push({
            label: `${t.role === 'loaded' ? t.servedName : t.role}${m.suffix}`,
            color: t.color,
            dash: m.dashed ? [5, 4] : undefined,
          });
          metrics.push({ served: t.servedName, metric: m.metric });
        }
      });
      return { def, series, data: historyColumns(byVersion, metrics) };
    });
  }, [history.data, targets]);

  if (history.loading) return <Loading label="Loading history…" />;
  if (history.error && !history.data)
    return (
      <ErrorState title="Could not load history" error={history.error} onRetry={history.reload} />
    );
  return (
    <div className="chart-grid">
      {charts.map(({ def, series, data }) => (
        <div className="chart-cell" key={def.title}>
          <TimeChart
            title={def.title}
            series={series}
            data={data}
            format={def.format}
            xRange={history.data?.xRange}
            emptyText="No requests in this period"
          />
        </div>
      ))}
    </div>
  );
}
