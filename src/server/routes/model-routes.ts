/** GET /v1/models, GET /v1/models/:model */
import type { FastifyInstance } from 'fastify';
import { ModelNotFoundError } from '../../shared/errors.js';
import type { ServedModel } from '../../service/model-provider.js';
import type { ServerDeps } from '../server-deps.js';

function modelBody(m: ServedModel): {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
} {
  return { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy };
}

export async function modelRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: deps.provider.listModels().map(modelBody),
  }));
  app.get<{ Params: { model: string } }>('/v1/models/:model', async (request) => {
    const found = deps.provider.listModels().find((m) => m.id === request.params.model);
    if (!found) throw new ModelNotFoundError(request.params.model);
    return modelBody(found);
  });
}
