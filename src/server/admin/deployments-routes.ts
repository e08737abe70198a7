/** Deployments and rollouts: create, blue-green deploy, canary/shadow, promote, rollback, policy. */
import type { FastifyInstance } from 'fastify';
import type { RegistryRuntime } from '../../deploy/registry-runtime.js';
import { summaryOf } from '../../registry/records.js';
import type {
  DeploymentSummary,
  MetricsBucket,
  RolloutEvent,
  ShadowLive,
} from '../../shared/admin-api.js';
import { parseWith } from '../openai/validate.js';
import {
  canaryBody,
  createDeploymentBody,
  deployBody,
  eventsQuery,
  historyQuery,
  policyBody,
  rollbackBody,
  speculativeBody,
  weightBody,
} from './schemas.js';

type NameParams = { Params: { name: string } };

/** POST bodies are optional on some routes; treat a missing one as {}. */
const bodyOf = (b: unknown): unknown => (b === undefined || b === null ? {} : b);

export async function deploymentsRoutes(
  app: FastifyInstance,
  runtime: RegistryRuntime,
): Promise<void> {
  const { rollouts, registry } = runtime;

  app.get('/api/deployments', async (): Promise<DeploymentSummary[]> =>
    registry.deployments.list().map(summaryOf),
  );

  app.get<NameParams>('/api/deployments/:name', async (request): Promise<DeploymentSummary> =>
    summaryOf(registry.deployments.get(request.params.name)),
  );

  // A shadow candidate's live comparison with stable; null when the deployment runs none.
  app.get<NameParams>(
    '/api/deployments/:name/shadow',
    async (request): Promise<{ shadow: ShadowLive | null }> => {
      registry.deployments.get(request.params.name); // 404 for an unknown name
      return { shadow: rollouts.shadowLive(request.params.name) };
    },
  );

  app.post('/api/deployments', async (request, reply): Promise<DeploymentSummary> => {
    const body = parseWith(createDeploymentBody, request.body);
    const d = rollouts.create(body.name, body.model, body.version);
    reply.code(201);
    return d;
  });

  app.post<NameParams>(
    '/api/deployments/:name/deploy',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(deployBody, request.body);
      const { job, done } = runtime.jobs.run(
        'deploy',
        `deploying ${request.params.name} → ${body.version}`,
        (j) => rollouts.deploy(request.params.name, body.version, (m) => j.progress(0, 0, m)),
      );
      void job;
      return done;
    },
  );

  app.post<NameParams>(
    '/api/deployments/:name/canary',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(canaryBody, request.body);
      const { done } = runtime.jobs.run(
        'deploy',
        `starting ${body.mode} ${request.params.name} → ${body.version}`,
        (j) =>
          rollouts.startCandidate(request.params.name, body.version, body.weight, body.mode, (m) =>
            j.progress(0, 0, m),
          ),
      );
      return done;
    },
  );

  app.patch<NameParams>(
    '/api/deployments/:name/canary',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(weightBody, request.body);
      return rollouts.setWeight(request.params.name, body.weight);
    },
  );

  app.post<NameParams>(
    '/api/deployments/:name/promote',
    async (request): Promise<DeploymentSummary> => rollouts.promote(request.params.name),
  );

  app.post<NameParams>(
    '/api/deployments/:name/rollback',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(rollbackBody, bodyOf(request.body));
      return rollouts.rollback(request.params.name, { reason: body.reason });
    },
  );

  app.put<NameParams>(
    '/api/deployments/:name/policy',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(policyBody, request.body);
      return rollouts.setPolicy(request.params.name, body);
    },
  );

  app.put<NameParams>(
    '/api/deployments/:name/speculative',
    async (request): Promise<DeploymentSummary> => {
      const body = parseWith(speculativeBody, request.body);
      return rollouts.setSpeculative(request.params.name, body.mode);
    },
  );

  app.get<NameParams>('/api/deployments/:name/events', async (request): Promise<RolloutEvent[]> => {
    const q = parseWith(eventsQuery, request.query ?? {});
    registry.deployments.get(request.params.name);
    return registry.deployments.events(request.params.name, q.limit);
  });

  app.get('/api/metrics/history', async (request): Promise<MetricsBucket[]> => {
    const q = parseWith(historyQuery, request.query ?? {});
    return runtime.metricsHistory(q);
  });
}
