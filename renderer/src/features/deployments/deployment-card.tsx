/** One deployment: stable and candidate, traffic, promote / rollback / switch, policy, history. */
import { useCallback, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useResource } from '../../api/hooks.js';
import { errorMessage } from '../../api/http.js';
import type { DeploymentSummary, VersionSummary } from '../../api/types.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { Icon } from '../../components/icons.js';
import { Badge, Panel } from '../../components/layout.js';
import { EmptyState, InlineError, Loading } from '../../components/states.js';
import { href } from '../../router.js';
import { CandidateForm } from './candidate-form.js';
import { PolicyForm } from './policy-form.js';
import { RolloutTimeline } from './rollout-timeline.js';
import { TrafficSlider } from './traffic-slider.js';
import { ShadowStats } from './shadow-stats.js';

type Pending = { kind: 'rollback' } | { kind: 'deploy'; version: string } | { kind: 'promote' };

export function DeploymentCard({
  deployment: d,
  versions,
  now,
  onChanged,
}: {
  deployment: DeploymentSummary;
  versions: VersionSummary[];
  now: number;
  onChanged: (d: DeploymentSummary) => void;
}) {
  const idPrefix = `dep-${d.name.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  const loadEvents = useCallback(
    (signal: AbortSignal) => admin.deploymentEvents(d.name, signal),
    [d.name],
  );
  const events = useResource(loadEvents);
  const reloadEvents = events.reload;
  useLiveEvent('rollout', (ev) => {
    if (ev.deployment === d.name) reloadEvents();
  });

  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [pending, setPending] = useState<Pending | null>(null);
  const [switchTo, setSwitchTo] = useState('');
  const [shadowDraft, setShadowDraft] = useState<boolean | null>(null);

  const run = async (fn: () => Promise<DeploymentSummary>) => {
    setBusy(true);
    setError(null);
    try {
      onChanged(await fn());
      reloadEvents();
    } catch (e) {
      setError(errorMessage(e));
      throw e;
    } finally {
      setBusy(false);
      setPending(null);
    }
  };
  const runQuiet = (fn: () => Promise<DeploymentSummary>) => run(fn).catch(() => undefined);

  const stableName = `${d.model}@${d.stable}`;
  const candidate = d.candidate;
  const candidateName = candidate ? `${d.model}@${candidate.version}` : '';
  const ready = versions.filter((v) => v.state === 'ready');
  const others = ready.filter((v) => v.version !== d.stable && v.version !== candidate?.version);
  // A version picked earlier may since have become the stable or candidate one: not offered.
  const switchVersion =
    (others.some((v) => v.version === switchTo) ? switchTo : others[0]?.version) ?? '';

  return (
    <Panel
      id={idPrefix}
      className="deployment"
      title={
        <span className="row">
          <span className="mono">{d.name}</span>
          <Badge>model {d.model}</Badge>
          {candidate ? (
            <Badge tone="accent">
              {candidate.mode === 'shadow' ? 'Shadow running' : 'Canary running'}
            </Badge>
          ) : (
            <Badge tone="good">Stable</Badge>
          )}
        </span>
      }
      actions={
        <a
          className="btn btn-small btn-ghost"
          href={href('playground', { model: d.name })}
          aria-label={`Chat with ${d.name}`}
        >
          <Icon name="playground" size={15} /> Chat
        </a>
      }
    >
      <div className="deployment-grid">
        <div className="stack">
          <div className="lanes">
            <div className="lane lane-stable">
              <span className="lane-label">Stable</span>
              <strong className="mono" data-testid="stable-version">
                {stableName}
              </strong>
              <span className="muted">
                {candidate && candidate.mode === 'canary'
                  ? `${100 - candidate.weight}% of requests`
                  : 'all requests'}
              </span>
            </div>
            <div className={`lane lane-candidate ${candidate ? '' : 'lane-empty'}`}>
              <span className="lane-label">Candidate</span>
              {candidate ? (
                <>
                  <strong className="mono" data-testid="candidate-version">
                    {candidateName}
                  </strong>
                  <span className="muted">
                    {candidate.mode === 'shadow'
                      ? 'mirrored, answers discarded'
                      : `${candidate.weight}% of requests`}
                  </span>
                </>
              ) : (
                <span className="muted">none</span>
              )}
            </div>
          </div>

          {candidate ? (
            <>
              <TrafficSlider
                key={`${candidate.version}-${candidate.weight}`}
                id={`${idPrefix}-weight`}
                weight={candidate.weight}
                stableName={stableName}
                candidateName={candidateName}
                mode={candidate.mode}
                disabled={busy}
                onCommit={(w) => run(() => admin.setWeight(d.name, w)).catch(() => undefined)}
              />
              {candidate.mode === 'shadow' ? <ShadowStats name={d.name} /> : null}
              <label className="switch">
                <input
                  type="checkbox"
                  checked={shadowDraft ?? candidate.mode === 'shadow'}
                  disabled={busy}
                  onChange={(e) => {
                    const shadow = e.target.checked;
                    // Show the new position at once; the switch settles on the server's answer.
                    setShadowDraft(shadow);
                    void runQuiet(() =>
                      admin.startCandidate(d.name, {
                        version: candidate.version,
                        weight: candidate.weight,
                        mode: shadow ? 'shadow' : 'canary',
                      }),
                    ).finally(() => setShadowDraft(null));
                  }}
                />
                <span>
                  Shadow mode{' '}
                  <span className="faint">
                    — mirror requests to the candidate; users get stable's answers
                  </span>
                </span>
              </label>
              <div className="row wrap">
                <button
                  type="button"
                  className="btn btn-primary"
                  disabled={busy}
                  onClick={() => setPending({ kind: 'promote' })}
                >
                  <Icon name="check" size={16} /> Promote {candidateName}
                </button>
                <button
                  type="button"
                  className="btn btn-ghost-danger"
                  disabled={busy}
                  onClick={() => setPending({ kind: 'rollback' })}
                >
                  <Icon name="undo" size={16} /> Roll back
                </button>
              </div>
            </>
          ) : (
            <CandidateForm
              idPrefix={idPrefix}
              versions={others}
              onStart={(body) => runQuiet(() => admin.startCandidate(d.name, body))}
            />
          )}

          <div className="subsection">
            <h3>Blue-green switch</h3>
            <p className="muted small">
              Move all traffic to another version at once. The old stable stays stored for rollback.
            </p>
            {others.length === 0 ? (
              <p className="faint small">No other ready version to switch to.</p>
            ) : null}
            {others.length === 0 ? null : (
              <div className="row wrap">
                <label htmlFor={`${idPrefix}-switch`} className="visually-hidden">
                  Version to deploy
                </label>
                <select
                  id={`${idPrefix}-switch`}
                  className="select select-inline"
                  value={switchVersion}
                  onChange={(e) => setSwitchTo(e.target.value)}
                >
                  {others.map((v) => (
                    <option key={v.version} value={v.version}>
                      {v.model}@{v.version}
                    </option>
                  ))}
                </select>
                <button
                  type="button"
                  className="btn"
                  disabled={busy || !switchVersion}
                  onClick={() => setPending({ kind: 'deploy', version: switchVersion })}
                >
                  Deploy
                </button>
              </div>
            )}
            {candidate ? null : (
              <div>
                <button
                  type="button"
                  className="btn btn-ghost-danger btn-small"
                  disabled={busy}
                  onClick={() => setPending({ kind: 'rollback' })}
                >
                  <Icon name="undo" size={15} /> Roll back to the previous stable version
                </button>
              </div>
            )}
          </div>

          <div className="subsection">
            <h3>Speculative decoding</h3>
            <div className="row wrap">
              <label htmlFor={`${idPrefix}-spec`} className="visually-hidden">
                Speculative decoding mode
              </label>
              <select
                id={`${idPrefix}-spec`}
                className="select select-inline"
                value={d.speculative}
                disabled={busy}
                onChange={(e) =>
                  void runQuiet(() =>
                    admin.setSpeculative(
                      d.name,
                      e.target.value as DeploymentSummary['speculative'],
                    ),
                  )
                }
              >
                <option value="default">Server default</option>
                <option value="off">Off</option>
                <option value="draft">Draft model</option>
                <option value="lookup">Prompt lookup</option>
              </select>
            </div>
          </div>
          <InlineError message={error} onDismiss={() => setError(null)} />
        </div>

        <div className="stack">
          <div className="subsection subsection-first">
            <h3>Auto-rollback policy</h3>
            <PolicyForm
              idPrefix={idPrefix}
              policy={d.policy}
              onSave={async (p) => {
                await run(() => admin.setPolicy(d.name, p));
              }}
            />
          </div>
          <div className="subsection">
            <h3>Timeline</h3>
            {events.loading ? (
              <Loading label="Loading events…" />
            ) : events.error && !events.data ? (
              <InlineError message={`Could not load events: ${events.error.message}`} />
            ) : (events.data ?? []).length === 0 ? (
              <EmptyState icon="deployments" title="No events yet" />
            ) : (
              <RolloutTimeline events={events.data ?? []} now={now} />
            )}
          </div>
        </div>
      </div>

      <ConfirmDialog
        open={pending !== null}
        tone={pending?.kind === 'rollback' ? 'danger' : 'primary'}
        title={
          pending?.kind === 'rollback'
            ? `Roll back ${d.name}?`
            : pending?.kind === 'promote'
              ? `Promote ${candidateName}?`
              : `Deploy ${d.model}@${pending?.kind === 'deploy' ? pending.version : ''}?`
        }
        confirmLabel={
          pending?.kind === 'rollback'
            ? 'Roll back'
            : pending?.kind === 'promote'
              ? 'Promote'
              : 'Deploy'
        }
        busy={busy}
        onCancel={() => setPending(null)}
        onConfirm={() => {
          if (!pending) return;
          if (pending.kind === 'rollback')
            void runQuiet(() => admin.rollback(d.name, 'rolled back from the UI'));
          else if (pending.kind === 'promote') void runQuiet(() => admin.promote(d.name));
          else void runQuiet(() => admin.deploy(d.name, pending.version));
        }}
      >
        {pending?.kind === 'rollback' ? (
          candidate ? (
            <p>
              {candidateName} stops receiving traffic; every request goes to {stableName}.
            </p>
          ) : (
            <p>
              {d.name} switches back to the version it served before {stableName}, after loading and
              warming it up.
            </p>
          )
        ) : pending?.kind === 'promote' ? (
          <p>{candidateName} becomes the stable version and receives all traffic.</p>
        ) : (
          <p>All traffic of {d.name} moves to the new version at once.</p>
        )}
      </ConfirmDialog>
    </Panel>
  );
}
