/** Live charts from the SSE stats stream, one series per compared version. */
import { useMemo } from 'react';
import type { LiveSnapshot } from '../../api/types.js';
import { formatCount, formatMs, formatPercent, formatRate } from '../../components/format.js';
import { TimeChart, type ChartSeries } from '../../components/time-chart.js';
import { liveColumns, type LiveMetric, type SeriesSpec } from './series.js';
import type { Target } from './targets.js';

interface ChartDef {
  title: string;
  metrics: Array<{ metric: LiveMetric; suffix: string; dashed?: boolean }>;
  format: (v: number) => string;
  yMax?: number;
}

const CHARTS: ChartDef[] = [
  {
    title: 'Throughput (tokens/s)',
    metrics: [{ metric: 'throughput', suffix: '' }],
    format: (v) => formatRate(v),
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
    title: 'Per-token time',
    metrics: [
      { metric: 'tpotP50', suffix: ' p50' },
      { metric: 'tpotP95', suffix: ' p95', dashed: true },
    ],
    format: formatMs,
  },
  {
    title: 'Queue depth',
    metrics: [
      { metric: 'running', suffix: ' running' },
      { metric: 'waiting', suffix: ' waiting', dashed: true },
    ],
    format: (v) => formatCount(v),
  },
  {
    title: 'KV cache usage',
    metrics: [{ metric: 'kvUsage', suffix: '' }],
    format: (v) => formatPercent(v),
    yMax: 1,
  },
  {
    title: 'Prefix cache hit rate',
    metrics: [{ metric: 'prefixHitRate', suffix: '' }],
    format: (v) => formatPercent(v),
    yMax: 1,
  },
];

/** At least the last minute, up to the whole ring, ending at the newest snapshot. */
function liveWindow(history: LiveSnapshot[]): [number, number] | undefined {
  if (history.length === 0) return undefined;
  const last = history[history.length - 1].at / 1000;
  const first = history[0].at / 1000;
  return [Math.min(first, last - 60), last];
}

function OneChart({
  def,
  targets,
  history,
}: {
  def: ChartDef;
  targets: Target[];
  history: LiveSnapshot[];
}) {
  const { series, specs } = useMemo(() => {
    const series: ChartSeries[] = [];
    const specs: SeriesSpec[] = [];
    for (const t of targets) {
      for (const m of def.metrics) {
        series.push({
          label: `${t.role === 'loaded' ? t.servedName : t.role}${m.suffix}`,
          color: t.color,
          dash: m.dashed ? [5, 4] : undefined,
        });
        specs.push({ servedName: t.servedName, metric: m.metric });
      }
    }
    return { series, specs };
  }, [def, targets]);
  const data = useMemo(() => liveColumns(history, specs), [history, specs]);
  const xRange = useMemo(() => liveWindow(history), [history]);
  return (
    <TimeChart
      title={def.title}
      series={series}
      data={data}
      format={def.format}
      yMax={def.yMax}
      xRange={xRange}
      emptyText="Waiting for live data…"
    />
  );
}

export function LiveCharts({ targets, history }: { targets: Target[]; history: LiveSnapshot[] }) {
  return (
    <div className="chart-grid">
      {CHARTS.map((def) => (
        <div className="chart-cell" key={def.title}>
          <OneChart def={def} targets={targets} history={history} />
        </div>
      ))}
    </div>
  );
}
