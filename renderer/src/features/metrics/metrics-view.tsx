/** Metrics: live and historical serving figures, stable and candidate side by side. */
import { useCallback, useMemo, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useLiveHistory, useLiveSnapshot, useResource } from '../../api/hooks.js';
import { PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, InlineError, Loading } from '../../components/states.js';
import { href } from '../../router.js';
import { CompareTable } from './compare-table.js';
import { HistoryCharts } from './history-charts.js';
import { LiveCharts } from './live-charts.js';
import { deploymentTargets, loadedTargets, type Target } from './targets.js';
import './metrics.css';

const RANGES = [
  { minutes: 60, label: 'Last hour' },
  { minutes: 1440, label: 'Last day' },
];

export function MetricsView() {
  const load = useCallback((signal: AbortSignal) => admin.deployments(signal), []);
  const deployments = useResource(load);
  // A canary started, promoted or rolled back (also automatically) changes what to compare.
  const reloadDeployments = deployments.reload;
  useLiveEvent('rollout', () => reloadDeployments());
  const history = useLiveHistory();
  const snapshot = useLiveSnapshot();
  const [choice, setChoice] = useState<string | null>(null);
  const [minutes, setMinutes] = useState(60);

  const list = useMemo(() => deployments.data ?? [], [deployments.data]);
  const defaultChoice = (list.find((d) => d.candidate) ?? list[0])?.name;
  const selected = choice ?? (defaultChoice ? `dep:${defaultChoice}` : 'loaded');
  const loadedKey = (snapshot?.loaded ?? []).map((l) => l.servedName).join(',');

  const targets: Target[] = useMemo(() => {
    if (selected.startsWith('dep:')) {
      const d = list.find((x) => `dep:${x.name}` === selected);
      if (d) return deploymentTargets(d);
    }
    return loadedTargets(snapshot);
    // loadedKey stands for the snapshot's version list, which is all that matters here.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [selected, list, loadedKey]);

  const picker = (
    <div className="field field-inline">
      <label htmlFor="metrics-target">Compare</label>
      <select
        id="metrics-target"
        className="select"
        value={selected}
        onChange={(e) => setChoice(e.target.value)}
      >
        {list.map((d) => (
          <option key={d.name} value={`dep:${d.name}`}>
            {d.name}: {d.model}@{d.stable}
            {d.candidate ? ` vs @${d.candidate.version}` : ''}
          </option>
        ))}
        <option value="loaded">All loaded versions</option>
      </select>
    </div>
  );

  return (
    <>
      <PageHeader
        title="Metrics"
        description="Live figures every second from the engine, and per-minute history kept by the registry."
        actions={picker}
      />
      {deployments.error && !deployments.data ? (
        <InlineError
          message={`Could not list deployments (${deployments.error.message}); showing loaded versions.`}
        />
      ) : null}
      {deployments.loading ? (
        <Panel>
          <Loading label="Loading deployments…" />
        </Panel>
      ) : targets.length === 0 ? (
        <Panel>
          <EmptyState icon="metrics" title="Nothing to measure yet">
            No version is loaded. Send a request from the{' '}
            <a href={href('playground')}>Playground</a> or load a version in{' '}
            <a href={href('models')}>Models</a>.
          </EmptyState>
        </Panel>
      ) : (
        <>
          <Panel title="Side by side" id="compare" className="panel-flush">
            <CompareTable targets={targets} history={history} />
          </Panel>
          <Panel
            title="Live"
            id="live"
            actions={
              <span className="faint">
                last {Math.max(1, Math.round(history.length / 60))} min · updates every second
              </span>
            }
          >
            <LiveCharts targets={targets} history={history} />
          </Panel>
          <Panel
            title="History"
            id="history"
            actions={
              <div className="segmented" role="group" aria-label="History range">
                {RANGES.map((r) => (
                  <button
                    key={r.minutes}
                    type="button"
                    className="segment"
                    aria-pressed={minutes === r.minutes}
                    onClick={() => setMinutes(r.minutes)}
                  >
                    {r.label}
                  </button>
                ))}
              </div>
            }
          >
            <HistoryCharts targets={targets} minutes={minutes} />
          </Panel>
        </>
      )}
    </>
  );
}
