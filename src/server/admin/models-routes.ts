/** Models, versions, loading, import, pull and jobs. */
import type { FastifyInstance } from 'fastify';
import type { RegistryRuntime } from '../../deploy/registry-runtime.js';
import type {
  JobSummary,
  LoadedVersionDetail,
  ModelSummary,
  VersionSummary,
} from '../../shared/admin-api.js';
import { parseWith } from '../openai/validate.js';
import { importBody, pullBody } from './schemas.js';

type VersionParams = { model: string; version: string };

export async function modelsRoutes(app: FastifyInstance, runtime: RegistryRuntime): Promise<void> {
  app.get('/api/models', async (): Promise<ModelSummary[]> => runtime.models());

  app.get('/api/ps', async (): Promise<LoadedVersionDetail[]> => runtime.loadedDetails());

  app.post('/api/models/import', async (request): Promise<VersionSummary> => {
    const body = parseWith(importBody, request.body);
    return runtime.importModel(body);
  });

  app.post('/api/models/pull', async (request, reply): Promise<JobSummary> => {
    const body = parseWith(pullBody, request.body);
    reply.code(202);
    return runtime.pull(body);
  });

  app.get<{ Params: { id: string } }>('/api/jobs/:id', async (request): Promise<JobSummary> =>
    runtime.jobs.get(request.params.id),
  );

  app.get('/api/jobs', async (): Promise<JobSummary[]> => runtime.jobs.list());

  app.post<{ Params: VersionParams }>(
    '/api/models/:model/versions/:version/load',
    async (request): Promise<VersionSummary> =>
      runtime.loadVersion(request.params.model, request.params.version),
  );

  app.post<{ Params: VersionParams }>(
    '/api/models/:model/versions/:version/unload',
    async (request): Promise<VersionSummary> =>
      runtime.unloadVersion(request.params.model, request.params.version),
  );

  app.delete<{ Params: VersionParams }>('/api/models/:model/versions/:version', async (request) => {
    await runtime.deleteVersion(request.params.model, request.params.version);
    return { deleted: true as const };
  });
}
