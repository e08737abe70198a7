/** Current figures of the compared versions, side by side. */
import type { LiveSnapshot } from '../../api/types.js';
import { formatCount, formatMs, formatPercent, formatRate } from '../../components/format.js';
import { currentValue, type LiveMetric } from './series.js';
import type { Target } from './targets.js';

const ROWS: Array<{ label: string; metric: LiveMetric; format: (v: number | null) => string }> = [
  { label: 'Throughput (tok/s)', metric: 'throughput', format: (v) => formatRate(v) },
  { label: 'Time to first token p50', metric: 'ttftP50', format: formatMs },
  { label: 'Time to first token p95', metric: 'ttftP95', format: formatMs },
  { label: 'Per-token time p50', metric: 'tpotP50', format: formatMs },
  { label: 'Per-token time p95', metric: 'tpotP95', format: formatMs },
  { label: 'Running', metric: 'running', format: (v) => formatCount(v) },
  { label: 'Waiting', metric: 'waiting', format: (v) => formatCount(v) },
  { label: 'KV cache usage', metric: 'kvUsage', format: (v) => formatPercent(v, 1) },
  { label: 'Prefix cache hit rate', metric: 'prefixHitRate', format: (v) => formatPercent(v, 1) },
  {
    label: 'Draft acceptance (speculative)',
    metric: 'draftAcceptance',
    format: (v) => formatPercent(v, 1),
  },
];

export function CompareTable({ targets, history }: { targets: Target[]; history: LiveSnapshot[] }) {
  const latest = history[history.length - 1];
  return (
    <div className="table-wrap">
      <table className="table compare-table" aria-label="Live comparison">
        <thead>
          <tr>
            <th scope="col">Last minute</th>
            {targets.map((t) => (
              <th scope="col" key={t.servedName} className="num">
                <span className="compare-head">
                  <span className="dot" style={{ background: t.color }} aria-hidden="true" />
                  <span className="compare-role">{t.role}</span>
                  <span className="mono">{t.servedName}</span>
                </span>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {ROWS.map((row) => (
            <tr key={row.metric}>
              <th scope="row">{row.label}</th>
              {targets.map((t) => (
                <td key={t.servedName} className="num">
                  {row.format(currentValue(history, t.servedName, row.metric))}
                </td>
              ))}
            </tr>
          ))}
          <tr>
            <th scope="row">Requests / errors</th>
            {targets.map((t) => {
              const lat = latest?.latency[t.servedName];
              return (
                <td key={t.servedName} className="num">
                  {lat ? `${lat.requests} / ${lat.errors}` : '—'}
                </td>
              );
            })}
          </tr>
        </tbody>
      </table>
    </div>
  );
}
