/** Deployments: names that route to versions, and the rollouts moving them between versions. */
import { useCallback, useState } from 'react';
import { admin } from '../../api/admin.js';
import { useLiveEvent, useNow, useResource } from '../../api/hooks.js';
import type { DeploymentSummary } from '../../api/types.js';
import { Icon } from '../../components/icons.js';
import { PageHeader, Panel } from '../../components/layout.js';
import { EmptyState, ErrorState, Loading } from '../../components/states.js';
import { CreateDeployment } from './create-deployment.js';
import { DeploymentCard } from './deployment-card.js';
import './deployments.css';

export function DeploymentsView() {
  // `at` is when the request started, so an action's answer that came later wins over it.
  const loadDeployments = useCallback(async (signal: AbortSignal) => {
    const at = Date.now();
    return { list: await admin.deployments(signal), at };
  }, []);
  const loadModels = useCallback((signal: AbortSignal) => admin.models(signal), []);
  const deployments = useResource(loadDeployments);
  const models = useResource(loadModels);
  const [showCreate, setShowCreate] = useState(false);
  // Answers from actions show at once, until a list fetched after them arrives.
  const [updated, setUpdated] = useState<Record<string, { d: DeploymentSummary; at: number }>>({});
  const now = useNow(15_000);

  const reloadDeployments = deployments.reload;
  useLiveEvent('rollout', () => reloadDeployments());

  const fetchedAt = deployments.data?.at ?? 0;
  const list = (deployments.data?.list ?? []).map((d) => {
    const u = updated[d.name];
    return u && u.at > fetchedAt ? u.d : d;
  });

  return (
    <>
      <PageHeader
        title="Deployments"
        description="A deployment is the name clients call. Move it between versions with canaries, shadows and blue-green switches."
        actions={
          <>
            <button
              type="button"
              className="btn"
              onClick={() => {
                deployments.reload();
                models.reload();
              }}
            >
              <Icon name="refresh" size={16} /> Refresh
            </button>
            <button
              type="button"
              className="btn btn-primary"
              aria-expanded={showCreate}
              aria-controls="new-deployment"
              onClick={() => setShowCreate((s) => !s)}
            >
              <Icon name="plus" size={16} /> New deployment
            </button>
          </>
        }
      />
      {showCreate ? (
        <Panel title="New deployment" id="new-deployment">
          <CreateDeployment
            models={models.data ?? []}
            onCreated={() => {
              setShowCreate(false);
              deployments.reload();
            }}
          />
        </Panel>
      ) : null}
      {deployments.loading ? (
        <Panel>
          <Loading label="Loading deployments…" />
        </Panel>
      ) : deployments.error && !deployments.data ? (
        <Panel>
          <ErrorState
            title="Could not list deployments"
            error={deployments.error}
            onRetry={deployments.reload}
          />
        </Panel>
      ) : list.length === 0 ? (
        <Panel>
          <EmptyState
            icon="deployments"
            title="No deployments yet"
            action={
              <button type="button" className="btn btn-primary" onClick={() => setShowCreate(true)}>
                <Icon name="plus" size={16} /> New deployment
              </button>
            }
          >
            Create one to give clients a stable model name while you roll out new versions behind
            it.
          </EmptyState>
        </Panel>
      ) : (
        list.map((d) => (
          <DeploymentCard
            key={d.name}
            deployment={d}
            now={now}
            versions={models.data?.find((m) => m.name === d.model)?.versions ?? []}
            onChanged={(next) =>
              setUpdated((u) => ({ ...u, [next.name]: { d: next, at: Date.now() } }))
            }
          />
        ))
      )}
    </>
  );
}
