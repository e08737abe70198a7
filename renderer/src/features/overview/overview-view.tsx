/** Overview: is the server up, how to reach it, what is loaded and how busy it is. */
import { useCallback } from 'react';
import { admin, openaiModels } from '../../api/admin.js';
import {
  useConnectionState,
  useLiveHistory,
  useLiveSnapshot,
  useNow,
  useResource,
} from '../../api/hooks.js';
import { formatBytes, formatDuration, formatRate } from '../../components/format.js';
import { Icon } from '../../components/icons.js';
import { Badge, PageHeader, Panel, Stat } from '../../components/layout.js';
import { ErrorState, Loading } from '../../components/states.js';
import { TimeChart } from '../../components/time-chart.js';
import { href } from '../../router.js';
import { ApiAccess } from './api-access.js';
import { LoadedVersions } from './loaded-versions.js';
import type { LiveSnapshot } from '../../api/types.js';
import './overview.css';

const WINDOW_S = 120;

function throughputData(history: LiveSnapshot[]) {
  const recent = history.slice(-WINDOW_S);
  return [recent.map((s) => s.at / 1000), recent.map((s) => s.tokensPerSecond)] as [
    number[],
    number[],
  ];
}

/** The last two minutes, ending at the newest snapshot. */
function windowOf(history: LiveSnapshot[]): [number, number] | undefined {
  const last = history[history.length - 1];
  return last ? [last.at / 1000 - WINDOW_S, last.at / 1000] : undefined;
}

export function OverviewView() {
  const load = useCallback(
    async (signal: AbortSignal) => ({ status: await admin.status(signal), fetchedAt: Date.now() }),
    [],
  );
  const status = useResource(load);
  const snapshot = useLiveSnapshot();
  const loadServed = useCallback((signal: AbortSignal) => openaiModels(signal), []);
  const served = useResource(loadServed);
  // A deployment name (no '@') is what clients should call; fall back to any served id.
  const exampleModel =
    served.data?.find((id) => !id.includes('@')) ?? served.data?.[0] ?? 'orchard-chat';
  const history = useLiveHistory();
  const now = useNow(1000);
  // The live stream is the heartbeat: once it drops, the service is not known to run.
  const down = useConnectionState() === 'reconnecting';

  if (status.loading) return <Loading label="Connecting to Orchard…" />;
  if (!status.data) {
    return (
      <>
        <PageHeader title="Overview" />
        <ErrorState
          title="Orchard is not answering"
          error={status.error ?? 'No answer from the service.'}
          onRetry={status.reload}
        />
      </>
    );
  }
  const s = status.data.status;
  const live = snapshot ?? s.live;
  const uptime = s.uptimeSeconds + Math.max(0, now - status.data.fetchedAt) / 1000;
  const totalMemory = live.loaded.reduce((sum, v) => sum + v.memoryBytes, 0);

  return (
    <>
      <PageHeader
        title="Overview"
        description="Orchard serves language models from this machine through an OpenAI-compatible API."
        actions={
          <a className="btn btn-primary" href={href('playground')}>
            <Icon name="playground" size={16} /> Open playground
          </a>
        }
      />
      <div className="grid-stats" role="group" aria-label="Server status">
        <Stat
          label="Server"
          value={<span className="server-state">{down ? 'Not answering' : 'Running'}</span>}
          hint={`v${s.version} · ${down ? 'reconnecting…' : `up ${formatDuration(uptime)}`}`}
          tone={down ? 'warn' : 'good'}
        />
        <Stat
          label="Throughput"
          value={formatRate(live.tokensPerSecond)}
          unit="tok/s"
          hint="generated, all versions"
        />
        <Stat label="Requests running" value={live.running} hint="decoding now" />
        <Stat
          label="Requests waiting"
          value={live.waiting}
          hint="queued for a slot"
          tone={live.waiting > 0 ? 'warn' : undefined}
        />
        <Stat
          label="Device"
          value={<span className="device-value">{s.device}</span>}
          hint={`${live.loaded.length} loaded · ${formatBytes(totalMemory)}`}
        />
      </div>

      <div className="grid-2">
        <Panel title="Connect" id="connect">
          <ApiAccess apiBaseUrl={s.apiBaseUrl} auth={s.auth} exampleModel={exampleModel} />
        </Panel>
        <Panel
          title="Throughput"
          id="throughput"
          actions={
            <a href={href('metrics')} className="btn btn-small btn-ghost">
              All metrics
            </a>
          }
        >
          <TimeChart
            title="Tokens per second, last 2 minutes"
            series={[{ label: 'all versions', color: 'var(--stable)' }]}
            data={throughputData(history)}
            xRange={windowOf(history)}
            format={(v) => formatRate(v)}
            height={150}
            emptyText="Waiting for live data…"
          />
          <dl className="kv overview-kv">
            <dt>Data folder</dt>
            <dd className="mono">{s.home}</dd>
            <dt>Authentication</dt>
            <dd>
              {s.auth ? (
                <Badge tone="good">API key required</Badge>
              ) : (
                <Badge tone="warn">Off</Badge>
              )}
            </dd>
          </dl>
        </Panel>
      </div>

      <Panel
        title="Loaded versions"
        id="loaded"
        className="panel-flush"
        actions={
          <a href={href('models')} className="btn btn-small btn-ghost">
            Manage models
          </a>
        }
      >
        <LoadedVersions loaded={live.loaded} now={now} />
      </Panel>
    </>
  );
}
