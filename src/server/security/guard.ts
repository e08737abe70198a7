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
/**
 * Headers allowed when the preflight's request does not name any (or names one that is not a
 * plain header name). Browsers take `*`-suffixed names literally, so the OpenAI SDK's
 * x-stainless-* headers are spelled out.
 */
const CORS_HEADERS = [
  'authorization',
  'content-type',
  'openai-organization',
  'openai-project',
  'openai-beta',
  'idempotency-key',
  'x-stainless-arch',
  'x-stainless-async',
  'x-stainless-helper-method',
  'x-stainless-lang',
  'x-stainless-os',
  'x-stainless-package-version',
  'x-stainless-poll-helper',
  'x-stainless-retry-count',
  'x-stainless-runtime',
  'x-stainless-runtime-version',
  'x-stainless-timeout',
].join(', ');

/** An RFC 9110 field name (token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;
const MAX_REQUESTED_HEADERS = 64;

/**
 * What to answer in Access-Control-Allow-Headers for an allowed origin: the headers the
 * preflight asks for, echoed back, when each is a plain header name; the fixed list otherwise.
 */
export function corsAllowHeaders(requested: string | string[] | undefined): string {
  const raw = Array.isArray(requested) ? requested.join(',') : (requested ?? '');
  const names = raw
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (names.length === 0 || names.length > MAX_REQUESTED_HEADERS) return CORS_HEADERS;
  if (!names.every((h) => HEADER_NAME.test(h) && h !== '*')) return CORS_HEADERS;
  return [...new Set(names)].join(', ');
}

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
            .header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers')
            .header('access-control-allow-methods', CORS_METHODS)
            .header(
              'access-control-allow-headers',
              corsAllowHeaders(request.headers['access-control-request-headers']),
            )
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
