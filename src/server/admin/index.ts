/**
 * The registry half of the admin API (src/shared/admin-api.ts): models, versions, jobs,
 * deployments, rollouts and metrics history. The service registers this plugin and passes the
 * RegistryRuntime as `registry` in the deps when it serves from the registry; with a plain
 * model folder these routes answer 503 saying the registry is not in use.
 */
import type { FastifyInstance } from 'fastify';
import type { RegistryRuntime } from '../../deploy/registry-runtime.js';
import { OrchardError } from '../../shared/errors.js';
import type { ServerDeps } from '../server-deps.js';
import { deploymentsRoutes } from './deployments-routes.js';
import { modelsRoutes } from './models-routes.js';

export type AdminDeps = ServerDeps & { registry?: RegistryRuntime };

const ROUTES = [
  '/api/models',
  '/api/models/*',
  '/api/ps',
  '/api/jobs',
  '/api/jobs/*',
  '/api/deployments',
  '/api/deployments/*',
  '/api/metrics/history',
];

export async function adminRoutes(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const runtime = deps.registry;
  if (!runtime) {
    const unavailable = async () => {
      throw new OrchardError(
        'The model registry is not in use: this service serves a model folder given with --model.',
        503,
        'service_unavailable',
        null,
        'registry_disabled',
      );
    };
    for (const url of ROUTES) app.all(url, unavailable);
    return;
  }
  const unsubscribe = runtime.onEvent((e) => {
    if (e.event === 'job') deps.events.publish('job', e.data);
    else deps.events.publish('rollout', e.data);
  });
  app.addHook('onClose', async () => unsubscribe());
  await modelsRoutes(app, runtime);
  await deploymentsRoutes(app, runtime);
}
