/** GET /health (alive; no auth), GET /ready (a model is loaded and answering), GET /metrics. */
import type { FastifyInstance } from 'fastify';
import { NotReadyError } from '../../shared/errors.js';
import type { ServerDeps } from '../server-deps.js';

export async function healthRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  app.get('/health', { config: { auth: 'none' } }, async () => ({
    status: deps.draining() ? 'stopping' : 'ok',
  }));

  app.get('/ready', async () => {
    if (deps.draining()) throw new NotReadyError('The server is shutting down.');
    if (!deps.provider.isReady()) throw new NotReadyError();
    return { status: 'ready', serving: deps.provider.loaded().map((l) => l.name) };
  });

  app.get('/metrics', async (_request, reply) => {
    const { contentType, body } = await deps.metrics.text();
    return reply.type(contentType).send(body);
  });
}
