/**
 * A shadow candidate's comparison with stable so far: mirrored requests, errors, token agreement
 * on greedy requests, mirrors skipped while the candidate was at its cap, and its TTFT. Re-read
 * every few seconds while shown (each mirrored request changes it, no event says so).
 */
import { useCallback, useEffect } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useResource } from '../../api/hooks.js';
import { Badge } from '../../components/layout.js';
import { formatMs, formatPercent } from '../../components/format.js';

const REFRESH_MS = 3000;

export function ShadowStats({ name }: { name: string }) {
  const load = useCallback((signal: AbortSignal) => admin.deploymentShadow(name, signal), [name]);
  const { data, reload } = useResource(load);
  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);
  useLiveEvent('rollout', () => reload());
  const s = data?.shadow;
  if (!s) return null;
  return (
    <div className="subsection" data-testid="shadow-stats">
      <h3>Shadow comparison with stable</h3>
      <dl className="kv">
        <dt>Mirrored</dt>
        <dd data-testid="shadow-mirrored">
          {s.mirrored} request{s.mirrored === 1 ? '' : 's'}
          {s.errors > 0 ? <Badge tone="bad">{s.errors} failed</Badge> : null}
        </dd>
        <dt>Token agreement</dt>
        <dd data-testid="shadow-agreement">
          {formatPercent(s.agreement, 1)}
          <span className="muted">
            {' '}
            over {s.compared} greedy request{s.compared === 1 ? '' : 's'}
          </span>
        </dd>
        <dt>Time to first token p95</dt>
        <dd>{formatMs(s.ttftP95)}</dd>
        <dt>Skipped</dt>
        <dd data-testid="shadow-skipped">
          {s.skipped}
          <span className="muted"> not mirrored while the candidate ran its cap of mirrors</span>
        </dd>
      </dl>
    </div>
  );
}
