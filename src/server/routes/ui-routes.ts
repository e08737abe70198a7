/**
 * The web UI: one-time-token sign-in (/?token=… or /auth?token=…) that sets an HttpOnly,
 * SameSite=Strict session cookie; a sign-in form taking the API key; and the built
 * renderer/dist with an SPA fallback and a strict content security policy.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import { keysEqual } from '../security/api-key-check.js';
import { sessionCookie } from '../security/ui-sessions.js';
import type { ServerDeps } from '../server-deps.js';
import { contentType, resolveStatic } from '../static-files.js';
import { notBuiltPage, signInPage } from './ui-pages.js';

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const SESSION_MAX_AGE_S = 30 * 24 * 3600;

/** Paths that belong to the APIs: never answered with the UI's index.html. */
const API_PREFIXES = ['/v1/', '/api/', '/metrics', '/health', '/ready', '/tokenize', '/detokenize'];

function securityHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

function html(reply: FastifyReply, status: number, body: string): FastifyReply {
  return securityHeaders(reply)
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(body);
}

const tokenQuery = z.object({ token: z.string().max(200).optional() });

/**
 * The sign-in token from the query: undefined when absent, null when malformed (repeated,
 * too long) — a malformed token is answered like one that cannot be redeemed, never a 500.
 */
function queryToken(query: unknown): string | null | undefined {
  const parsed = tokenQuery.safeParse(query ?? {});
  return parsed.success ? parsed.data.token : null;
}
const keyForm = z.object({ key: z.string().max(1000) });

export async function uiRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  const signIn = (reply: FastifyReply, sessionId: string): FastifyReply =>
    securityHeaders(reply)
      .header('set-cookie', sessionCookie(sessionId, SESSION_MAX_AGE_S))
      .header('cache-control', 'no-store')
      .redirect('/', 302);

  const redeem = (token: string | null, reply: FastifyReply): FastifyReply => {
    const session = token === null ? null : deps.sessions.redeem(token);
    if (session === null) {
      return html(
        reply,
        401,
        signInPage('That sign-in link was already used or has expired. Ask for a new one.'),
      );
    }
    deps.logger.info('UI signed in with a one-time token');
    return signIn(reply, session);
  };

  app.get('/auth', { config: { auth: 'ui' } }, async (request, reply) => {
    const token = queryToken(request.query);
    if (token !== undefined && token !== '') return redeem(token, reply);
    if (request.authVia !== null) return reply.redirect('/', 302);
    return html(reply, 401, signInPage());
  });

  app.post('/auth', { config: { auth: 'ui' } }, async (request, reply) => {
    const parsed = keyForm.safeParse(request.body ?? {});
    if (!parsed.success || !keysEqual(parsed.data.key.trim(), deps.apiKey)) {
      return html(reply, 401, signInPage('That is not the API key.'));
    }
    return signIn(reply, deps.sessions.newSession());
  });

  app.get('/*', { config: { auth: 'ui' } }, async (request, reply) => {
    const urlPath = request.url.split('?')[0];
    if (API_PREFIXES.some((p) => urlPath === p.replace(/\/$/, '') || urlPath.startsWith(p))) {
      throw new NotFoundError(`Unknown route: GET ${urlPath}`, null, 'unknown_route');
    }
    const token = queryToken(request.query);
    if (token !== undefined && token !== '' && urlPath === '/') return redeem(token, reply);
    if (request.authVia === null) {
      if (path.extname(urlPath) !== '' && urlPath !== '/index.html') {
        return securityHeaders(reply).code(401).type('text/plain').send('Sign in first.');
      }
      return html(reply, 401, signInPage());
    }
    if (deps.uiDir === null) return html(reply, 200, notBuiltPage());
    const file = resolveStatic(deps.uiDir, urlPath === '/' ? '/index.html' : urlPath);
    if (file !== null && path.basename(file) !== 'index.html') {
      const immutable = urlPath.startsWith('/assets/');
      return securityHeaders(reply)
        .type(contentType(file))
        .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
        .send(fs.createReadStream(file));
    }
    if (file === null && path.extname(urlPath) !== '') {
      return securityHeaders(reply).code(404).type('text/plain').send('Not found.');
    }
    // SPA fallback: client-side routes get index.html.
    return html(reply, 200, fs.readFileSync(path.join(deps.uiDir, 'index.html'), 'utf8'));
  });
}
