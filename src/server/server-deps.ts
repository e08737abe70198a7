/**
 * What the HTTP layer needs from the service, passed to buildServer(). Admin route plugins
 * (src/server/admin) receive the same object.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ModelProvider } from '../service/model-provider.js';
import type { LogBuffer } from '../service/log-buffer.js';
import type { ResolvedSettings } from '../service/settings-loader.js';
import type { Settings } from '../shared/settings.js';
import type { EventHub } from './event-hub.js';
import type { Inflight } from './inflight.js';
import type { ServingMetrics } from './metrics/serving-metrics.js';
import type { HostPolicy } from './security/host-policy.js';
import type { UiSessions } from './security/ui-sessions.js';

export interface ServiceUrls {
  /** e.g. http://127.0.0.1:11435 */
  baseUrl: string;
  /** e.g. http://127.0.0.1:11435/v1 */
  apiUrl: string;
}

export interface ServerDeps {
  settings: Settings;
  resolved: ResolvedSettings;
  provider: ModelProvider;
  apiKey: string;
  logger: Logger;
  logs: LogBuffer;
  events: EventHub;
  metrics: ServingMetrics;
  sessions: UiSessions;
  inflight: Inflight;
  hostPolicy: HostPolicy;
  /** renderer/dist, or null when the UI is not built. */
  uiDir: string | null;
  version: string;
  startedAt: number;
  urls(): ServiceUrls;
  /** True once shutdown has begun: new generations get 503. */
  draining(): boolean;
  /** Extra route plugins registered after the built-in routes (the admin API). */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
}
