/**
 * buildServer(deps): the fastify app with every route, not yet listening (tests and the
 * service decide where it listens).
 */
import { isUtf8 } from 'node:buffer';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { InvalidRequestError } from '../shared/errors.js';
import { registerErrorHandling } from './error-handler.js';
import { apiRoutes } from './routes/api-routes.js';
import { chatRoute } from './routes/chat-route.js';
import { completionRoute } from './routes/completion-route.js';
import { healthRoutes } from './routes/health-routes.js';
import { modelRoutes } from './routes/model-routes.js';
import { tokenizeRoutes } from './routes/tokenize-routes.js';
import { uiRoutes } from './routes/ui-routes.js';
import { registerGuard } from './security/guard.js';
import type { ServerDeps } from './server-deps.js';

/** JSON bodies must be valid UTF-8: replacing bad bytes silently would change the prompt. */
export function parseJsonBody(raw: Buffer): unknown {
  if (raw.length === 0)
    throw new InvalidRequestError('The request body is empty; expected a JSON object.');
  if (!isUtf8(raw)) throw new InvalidRequestError('The request body is not valid UTF-8.');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new InvalidRequestError(
      `We could not parse the JSON body of your request: ${(err as Error).message}`,
    );
  }
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // One line per request is logged in onResponse below, without query strings (UI tokens).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.settings.maxBodyBytes,
    // Shutdown drains generations first; whatever is still connected after that is cut.
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // The sign-in form posts the key as a urlencoded form.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 8192 },
    (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );

  // Token chunks are small writes: send each at once rather than waiting to coalesce.
  app.server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));

  registerErrorHandling(app, deps.logger);
  registerGuard(app, deps);

  app.addHook('onResponse', async (request, reply) => {
    const url = request.url.split('?')[0];
    if (url === '/health' || url === '/metrics') return;
    deps.logger.info(
      { method: request.method, url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) },
      'request',
    );
  });

  // CORS preflights are answered by the guard; other OPTIONS requests have nothing here.
  app.options('/*', async (request) => {
    throw new InvalidRequestError(`Unsupported method: OPTIONS ${request.url.split('?')[0]}`);
  });

  await app.register(async (scope) => {
    await healthRoutes(scope, deps);
    await modelRoutes(scope, deps);
    await chatRoute(scope, deps);
    await completionRoute(scope, deps);
    await tokenizeRoutes(scope, deps);
    await apiRoutes(scope, deps);
    await uiRoutes(scope, deps);
    for (const plugin of deps.plugins ?? []) await plugin(scope);
  });
  return app;
}
