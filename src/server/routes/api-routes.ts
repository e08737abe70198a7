/**
 * The service's own admin routes: /api/status, /api/key, /api/logs, /api/settings and the
 * /api/events SSE stream. Registry and rollout routes come from src/server/admin.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { StatusResponse } from '../../shared/admin-api.js';
import { LEVELS } from '../../service/log-buffer.js';
import { settingViews } from '../../service/settings-loader.js';
import type { HubMessage } from '../event-hub.js';
import { liveSnapshot } from '../metrics/live-snapshot.js';
import { parseWith } from '../openai/validate.js';
import type { ServerDeps } from '../server-deps.js';
import { SseWriter } from '../sse.js';

const logsQuery = z.strictObject({
  level: z.enum(LEVELS).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

const KEEPALIVE_MS = 15_000;

export async function apiRoutes(app: FastifyInstance, deps: ServerDeps): Promise<void> {
  const snapshot = () => liveSnapshot(deps.provider.loaded(), deps.metrics);

  app.get('/api/status', async (): Promise<StatusResponse> => {
    const loaded = deps.provider.loaded();
    return {
      version: deps.version,
      uptimeSeconds: Math.round((Date.now() - deps.startedAt) / 1000),
      apiBaseUrl: deps.urls().apiUrl,
      device: loaded[0]?.engine.info.executionProvider ?? deps.settings.device,
      auth: deps.settings.auth,
      home: deps.settings.home,
      live: snapshot(),
    };
  });

  app.get('/api/key', async () => ({ apiKey: deps.apiKey }));

  app.get('/api/logs', async (request) => {
    const q = parseWith(logsQuery, request.query);
    return deps.logs.recent({ level: q.level, limit: q.limit });
  });

  app.get('/api/settings', async () => settingViews(deps.resolved));

  // One ticker for all subscribers: 'stats' every second while anyone listens.
  let ticker: NodeJS.Timeout | null = null;
  const ensureTicker = (): void => {
    if (ticker || deps.events.subscriberCount === 0) return;
    ticker = setInterval(() => {
      if (deps.events.subscriberCount === 0) {
        clearInterval(ticker as NodeJS.Timeout);
        ticker = null;
        return;
      }
      deps.events.publish('stats', snapshot());
    }, 1000);
    ticker.unref();
  };
  app.addHook('onClose', async () => {
    if (ticker) clearInterval(ticker);
  });
  const stopLogFeed = deps.logs.onLine((line) => deps.events.publish('log', line));
  app.addHook('onClose', async () => stopLogFeed());

  app.get('/api/events', async (_request, reply) => {
    const sse = SseWriter.open(reply);
    await sse.event('stats', snapshot());
    const unsubscribe = deps.events.subscribe((m: HubMessage) => {
      void sse.event(m.event, m.data);
    });
    ensureTicker();
    const keepalive = setInterval(() => void sse.comment('keepalive'), KEEPALIVE_MS);
    keepalive.unref();
    reply.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });
}
