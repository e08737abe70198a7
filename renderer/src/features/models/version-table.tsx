/** One model's versions, with load / unload / delete and the memory a load would take. */
import type { ModelSummary, VersionSummary } from '../../api/types.js';
import { formatBytes, formatCount, formatParams, shortDigest } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge } from '../../components/layout.js';
import { href } from '../../router.js';

export type VersionAction = 'load' | 'unload' | 'delete';

function StateBadge({ v }: { v: VersionSummary }) {
  if (v.loaded) return <Badge tone="good">Loaded</Badge>;
  switch (v.state) {
    case 'ready':
      return <Badge>Ready</Badge>;
    case 'importing':
      return (
        <Badge tone="info">
          <span className="spinner spinner-small" aria-hidden="true" /> Importing
        </Badge>
      );
    case 'failed':
      return <Badge tone="bad">Failed</Badge>;
    case 'deleted':
      return <Badge>Deleted</Badge>;
  }
}

export function VersionTable({
  model,
  busy,
  onAction,
}: {
  model: ModelSummary;
  /** `model@version` → the action running on it. */
  busy: Record<string, VersionAction | undefined>;
  onAction: (action: VersionAction, v: VersionSummary) => void;
}) {
  const versions = [...model.versions].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <div className="table-wrap">
      <table className="table" aria-label={`Versions of ${model.name}`}>
        <thead>
          <tr>
            <th>Version</th>
            <th>State</th>
            <th className="num">Size</th>
            <th>Architecture</th>
            <th className="num">Context</th>
            <th>Digest</th>
            <th className="num">Memory when loaded</th>
            <th className="actions">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => {
            const served = `${v.model}@${v.version}`;
            const running = busy[served];
            return (
              <tr key={v.version} data-version={served}>
                <td>
                  <strong className="mono">{served}</strong>
                  <div className="faint cell-sub" title={v.source}>
                    {v.source}
                  </div>
                </td>
                <td>
                  <StateBadge v={v} />
                </td>
                <td className="num">{formatBytes(v.sizeBytes)}</td>
                <td title={v.architecture}>
                  {v.architecture ? v.architecture.split(' · ').slice(0, 2).join(' · ') : '—'}
                  <div className="faint cell-sub">{formatParams(v.numParams)}</div>
                </td>
                <td className="num">{formatCount(v.contextLength)}</td>
                <td>
                  <code className="digest" title={v.digest}>
                    {shortDigest(v.digest)}
                  </code>
                </td>
                <td className="num">≈ {formatBytes(v.memoryEstimateBytes)}</td>
                <td className="actions">
                  {v.loaded ? (
                    <button
                      type="button"
                      className="btn btn-small"
                      disabled={!!running}
                      onClick={() => onAction('unload', v)}
                      aria-label={`Unload ${served}`}
                    >
                      {running === 'unload' ? 'Unloading…' : 'Unload'}
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="btn btn-small btn-primary"
                      disabled={!!running || v.state !== 'ready'}
                      onClick={() => onAction('load', v)}
                      aria-label={`Load ${served} (about ${formatBytes(v.memoryEstimateBytes)})`}
                      title={`Needs about ${formatBytes(v.memoryEstimateBytes)} of memory`}
                    >
                      {running === 'load' ? 'Loading…' : 'Load'}
                    </button>
                  )}
                  <a
                    className="btn btn-small"
                    href={href('playground', { model: served })}
                    aria-label={`Chat with ${served}`}
                  >
                    Chat
                  </a>
                  <button
                    type="button"
                    className="icon-btn icon-btn-danger"
                    disabled={!!running}
                    onClick={() => onAction('delete', v)}
                    aria-label={`Delete ${served}`}
                    title="Delete"
                  >
                    <Icon name="trash" size={16} />
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
