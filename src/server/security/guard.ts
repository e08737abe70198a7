/**
 * The request guard, run before every route: Host allowlist (DNS rebinding), Origin check and
 * CORS, then authentication by API key (Bearer) or UI session cookie. Routes opt out with
 * `config: { auth: 'none' }` (/health) or take over with `auth: 'ui'` (pages that show a
 * sign-in screen instead of a 401).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthenticationError, PermissionError } from '../../shared/errors.js';
import type { ServerDeps } from '../server-deps.js';
import { bearerToken, keysEqual, parseCookies } from './api-key-check.js';
import { SESSION_COOKIE } from './ui-sessions.js';

export type RouteAuth = 'required' | 'none' | 'ui';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** How the caller proved who it is; null when it did not (or auth is off). */
    authVia: 'key' | 'session' | 'off' | null;
  }
}

const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';
const CORS_HEADERS =
  'authorization, content-type, openai-organization, openai-project, x-stainless-*';

export function authenticate(
  request: FastifyRequest,
  deps: ServerDeps,
): 'key' | 'session' | 'off' | null {
  if (!deps.settings.auth) return 'off';
  const token = bearerToken(request.headers.authorization);
  if (token !== null && keysEqual(token, deps.apiKey)) return 'key';
  const session = parseCookies(request.headers.cookie).get(SESSION_COOKIE);
  if (deps.sessions.isValid(session)) return 'session';
  return null;
}

export function registerGuard(app: FastifyInstance, deps: ServerDeps): void {
  app.decorateRequest('authVia', null);

  app.addHook('onRequest', async (request, reply) => {
    const host = request.headers.host;
    if (!deps.hostPolicy.hostAllowed(host)) {
      throw new PermissionError(
        `Host '${host ?? ''}' is not allowed. Add it to allowedHosts (ORCHARD_ALLOWED_HOSTS) to accept it.`,
        'host_not_allowed',
      );
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      if (!deps.hostPolicy.originAllowed(origin, host)) {
        throw new PermissionError(
          `Origin '${origin}' is not allowed. List it in corsOrigins (ORCHARD_CORS_ORIGINS) to accept it.`,
          'origin_not_allowed',
        );
      }
      if (deps.hostPolicy.corsAllowed(origin)) {
        reply.header('access-control-allow-origin', origin);
        reply.header('vary', 'Origin');
        if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) {
          // A preflight carries no credentials; answer it before authentication.
          reply
            .code(204)
            .header('access-control-allow-methods', CORS_METHODS)
            .header('access-control-allow-headers', CORS_HEADERS)
            .header('access-control-max-age', '600');
          return reply.send();
        }
      }
    }
    const mode: RouteAuth = request.routeOptions.config?.auth ?? 'required';
    if (mode === 'none') return;
    request.authVia = authenticate(request, deps);
    if (mode === 'required' && request.authVia === null) throw new AuthenticationError();
  });
}
