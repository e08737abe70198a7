/**
 * A uPlot time-series chart as a React component. uPlot owns its canvas: the plot is built
 * once per series layout / theme / height and then only fed data, which keeps once-a-second
 * updates cheap. Width follows the container.
 */
import { useEffect, useLayoutEffect, useRef, useSyncExternalStore } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  dash?: number[];
}

export interface TimeChartProps {
  title: string;
  series: ChartSeries[];
  /** [x seconds[], ...one array per series]; null marks a gap. */
  data: uPlot.AlignedData;
  format: (v: number) => string;
  height?: number;
  /** Shown instead of the plot while there are no points. */
  emptyText?: string;
  /** y axis starts at 0 unless false. */
  zeroBased?: boolean;
  /** Fixed y maximum (e.g. 1 for fractions). */
  yMax?: number;
  /** Fixed x window in seconds (e.g. the last hour), instead of fitting the data. */
  xRange?: [number, number];
}

const darkQuery =
  typeof window !== 'undefined' ? window.matchMedia('(prefers-color-scheme: dark)') : null;
function subscribeTheme(cb: () => void) {
  darkQuery?.addEventListener('change', cb);
  return () => darkQuery?.removeEventListener('change', cb);
}
const isDark = () => darkQuery?.matches ?? false;

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Canvas strokes cannot use CSS variables; resolve `var(--x)` against the current theme. */
function resolveColor(color: string): string {
  const m = /^var\((--[\w-]+)\)$/.exec(color.trim());
  return m ? cssVar(m[1], '#888') : color;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** One-line tick labels: seconds only when ticks are seconds apart, dates only for days. */
function timeTick(seconds: number, increment: number): string {
  const d = new Date(seconds * 1000);
  if (increment >= 86_400) return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return increment < 60 ? `${hm}:${pad(d.getSeconds())}` : hm;
}

function lastValue(values: ArrayLike<number | null | undefined>): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined && Number.isFinite(v)) return v;
  }
  return null;
}

export function TimeChart({
  title,
  series,
  data,
  format,
  height = 170,
  emptyText = 'No data yet',
  zeroBased = true,
  yMax,
  xRange,
}: TimeChartProps) {
  const hostRef = useRef<HTMLDivElement>(null);
  const plotRef = useRef<uPlot | null>(null);
  const dataRef = useRef(data);
  const formatRef = useRef(format);
  const xRangeRef = useRef(xRange);
  const dark = useSyncExternalStore(subscribeTheme, isDark, () => false);
  const layoutKey = series.map((s) => `${s.label}|${s.color}|${s.dash?.join(',') ?? ''}`).join(';');

  useLayoutEffect(() => {
    dataRef.current = data;
    formatRef.current = format;
    xRangeRef.current = xRange;
  });

  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const axisColor = cssVar('--text-muted', dark ? '#9aa4ae' : '#5b6670');
    const gridColor = cssVar('--chart-grid', dark ? 'rgba(255,255,255,0.07)' : 'rgba(0,0,0,0.07)');
    const font = `11px ${cssVar('--font-sans', 'system-ui, sans-serif')}`;
    const axis: uPlot.Axis = {
      stroke: axisColor,
      font,
      grid: { stroke: gridColor, width: 1 },
      ticks: { stroke: gridColor, width: 1, size: 4 },
    };
    const opts: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height,
      legend: { show: false },
      cursor: { points: { size: 6 }, drag: { x: false, y: false } },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => xRangeRef.current ?? [min, max],
        },
        y: {
          range: (_u, min, max) => {
            const lo = zeroBased ? 0 : min;
            const hi = yMax ?? (max > lo ? max * 1.15 : lo + 1);
            return [lo, hi];
          },
        },
      },
      axes: [
        {
          ...axis,
          space: 70,
          values: (_u, splits, _axis, _space, increment) =>
            splits.map((v) => timeTick(v, increment)),
        },
        { ...axis, size: 56, values: (_u, splits) => splits.map((v) => formatRef.current(v)) },
      ],
      series: [
        {},
        ...series.map<uPlot.Series>((s) => ({
          label: s.label,
          stroke: resolveColor(s.color),
          width: 2,
          dash: s.dash,
          spanGaps: false,
        })),
      ],
    };
    const plot = new uPlot(opts, dataRef.current, host);
    plotRef.current = plot;
    const ro = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(200, host.clientWidth), height });
    });
    ro.observe(host);
    return () => {
      ro.disconnect();
      plot.destroy();
      plotRef.current = null;
    };
    // layoutKey stands for `series`; rebuilding on every new array would flicker.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [layoutKey, height, dark, zeroBased, yMax]);

  useEffect(() => {
    plotRef.current?.setData(data);
  }, [data]);

  // No points, or points whose every value is a gap (e.g. TTFT before any request): the axes
  // alone would look like a broken chart.
  const empty =
    data[0].length === 0 ||
    data.slice(1).every((values) => lastValue(values as ArrayLike<number | null>) === null);
  return (
    <figure className="chart" aria-label={title}>
      <figcaption className="chart-header">
        <span className="chart-title">{title}</span>
        <span className="chart-legend">
          {series.map((s, i) => {
            const v = lastValue((data[i + 1] ?? []) as ArrayLike<number | null>);
            return (
              <span key={s.label} className="chart-legend-item">
                <span
                  className={`swatch ${s.dash ? 'swatch-dashed' : ''}`}
                  style={{ borderColor: s.color, background: s.dash ? 'transparent' : s.color }}
                  aria-hidden="true"
                />
                {s.label}
                <strong>{v === null ? '—' : format(v)}</strong>
              </span>
            );
          })}
        </span>
      </figcaption>
      <div className="chart-plot" style={{ height }}>
        <div ref={hostRef} className="chart-canvas" />
        {empty ? <div className="chart-empty">{emptyText}</div> : null}
      </div>
    </figure>
  );
}
