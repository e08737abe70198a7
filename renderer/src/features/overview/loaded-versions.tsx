/**
 * The versions in memory: live load from the stats stream, and from /api/ps what each one is
 * for (its deployment roles) and when keep-alive will unload it.
 */
import { useCallback, useEffect } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useResource } from '../../api/hooks.js';
import type { LoadedVersionView } from '../../api/types.js';
import { formatBytes, formatPercent, formatRelative } from '../../components/format.js';
import { Badge } from '../../components/layout.js';
import { EmptyState } from '../../components/states.js';
import { href } from '../../router.js';

function untilText(expiresAt: string | null | undefined, now: number): string {
  if (!expiresAt) return 'kept loaded';
  const ms = Date.parse(expiresAt) - now;
  if (!Number.isFinite(ms)) return '—';
  if (ms <= 0) return 'unloading';
  const s = Math.round(ms / 1000);
  return s < 90 ? `in ${s}s` : `in ${Math.round(s / 60)} min`;
}

export function LoadedVersions({ loaded, now }: { loaded: LoadedVersionView[]; now: number }) {
  const load = useCallback((signal: AbortSignal) => admin.loadedDetails(signal), []);
  const details = useResource(load);
  const reload = details.reload;
  const key = loaded.map((v) => v.servedName).join(',');
  // Roles and keep-alive change when versions come and go or rollouts move; refresh then, not
  // every second.
  useEffect(() => {
    reload();
  }, [key, reload]);
  // A canary, promote or switch changes what a version serves without loading anything.
  useLiveEvent('rollout', () => reload());
  // Every request moves a keep-alive deadline (a busy version has none, nor has one loaded but
  // not used yet): while anything is loaded, ask again now and then, or the countdown ends in
  // "unloading" for a version that stays loaded, or never starts.
  const anyLoaded = loaded.length > 0;
  useEffect(() => {
    if (!anyLoaded) return;
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [anyLoaded, reload]);

  if (loaded.length === 0) {
    return (
      <EmptyState icon="models" title="No model version is loaded">
        Versions load on their first request, or load one yourself from{' '}
        <a href={href('models')}>Models</a>.
      </EmptyState>
    );
  }
  const detailOf = (served: string) => details.data?.find((d) => d.servedName === served);
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Loaded versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Serves</th>
            <th>Device</th>
            <th className="num">Memory</th>
            <th className="num">Running</th>
            <th className="num">Waiting</th>
            <th>KV cache</th>
            <th className="num">Prefix hits</th>
            <th>Idle unload</th>
          </tr>
        </thead>
        <tbody>
          {loaded.map((v) => {
            const d = detailOf(v.servedName);
            return (
              <tr key={v.servedName} data-version={v.servedName}>
                <td>
                  <strong className="mono">{v.servedName}</strong>
                  {d ? (
                    <div className="faint cell-sub">loaded {formatRelative(d.loadedAt, now)}</div>
                  ) : null}
                </td>
                <td>
                  <span className="row wrap">
                    {(d?.roles ?? []).length === 0 ? (
                      <span className="faint">—</span>
                    ) : (
                      d?.roles.map((r) => (
                        <Badge
                          key={r}
                          tone={r.includes('candidate') || r.includes('shadow') ? 'accent' : 'good'}
                        >
                          {r}
                        </Badge>
                      ))
                    )}
                  </span>
                </td>
                <td title={v.replicas > 1 ? `${v.replicas} engine replicas` : undefined}>
                  {v.device}
                  {v.replicas > 1 ? ` × ${v.replicas}` : ''}
                </td>
                <td className="num">{formatBytes(v.memoryBytes)}</td>
                <td className="num">{v.stats.running}</td>
                <td className="num">{v.stats.waiting}</td>
                <td>
                  <div
                    className="meter"
                    title={`${v.stats.kv.usedBlocks} of ${v.stats.kv.totalBlocks} blocks`}
                  >
                    <div className="meter-bar">
                      <div
                        className="meter-fill"
                        style={{ width: `${Math.min(100, v.stats.kv.usage * 100)}%` }}
                      />
                    </div>
                    <span>{formatPercent(v.stats.kv.usage)}</span>
                  </div>
                </td>
                <td className="num">{formatPercent(v.stats.prefixCache.hitRate)}</td>
                <td className="muted nowrap">{d ? untilText(d.expiresAt, now) : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
