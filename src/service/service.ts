/**
 * The service: settings → logger, API key, model provider, HTTP server. createService() wires
 * it; start() listens and loads the model; stop() drains gracefully. startService() adds what a
 * real process needs: signal handlers and the supervising parent's IPC channel.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { loadEngine } from '../engine/engine-host.js';
import { engineOptionsFromSettings } from '../engine/engine-options.js';
import { adminRoutes } from '../server/admin/index.js';
import { buildServer } from '../server/build-server.js';
import { EventHub } from '../server/event-hub.js';
import { Inflight, waitIdle } from '../server/inflight.js';
import { ServingMetrics } from '../server/metrics/serving-metrics.js';
import { HostPolicy, isLoopbackHost, isWildcardHost } from '../server/security/host-policy.js';
import { UiSessions } from '../server/security/ui-sessions.js';
import type { ServerDeps, ServiceUrls } from '../server/server-deps.js';
import { builtUiDir } from '../server/static-files.js';
import type { ServiceStatusMessage } from '../shared/service-messages.js';
import type { Settings } from '../shared/settings.js';
import { ensureHome, loadOrCreateApiKey } from './api-key.js';
import { BundledProvider, resolveModelSource, type EngineLoader } from './bundled-provider.js';
import { parentChannel } from './ipc.js';
import type { LogBuffer } from './log-buffer.js';
import { createLogger } from './logger.js';
import type { ModelProvider } from './model-provider.js';
import { packageVersion, shippedModelsDir, uiDistDir } from './paths.js';
import { RegistryRuntime } from '../deploy/registry-runtime.js';
import { removeRuntimeFile, writeRuntimeFile } from './runtime-file.js';
import { lockHome, type HomeLock } from './home-lock.js';
import { SettingsError, type ResolvedSettings } from './settings-loader.js';

export interface ServiceOptions {
  /** Where human-readable log lines go; null for none (tests). Default stderr. */
  logConsole?: NodeJS.WritableStream | null;
  /** Engine loader (the real one by default). */
  loadEngine?: EngineLoader;
  /** Status updates, e.g. for a supervising parent. */
  onStatus?: (message: ServiceStatusMessage) => void;
  /** The built UI folder (renderer/dist by default). */
  uiDir?: string;
}

export interface StartedUrls extends ServiceUrls {
  /** Web UI URL with a one-time sign-in token. */
  uiUrl: string;
  /** `name → servedName` lines; empty when the model did not load. */
  serving: string[];
  /** Why nothing is served, when the model failed to load. */
  loadError?: string;
}

export interface Service {
  readonly settings: Settings;
  readonly resolved: ResolvedSettings;
  readonly app: FastifyInstance;
  readonly provider: ModelProvider;
  readonly apiKey: string;
  readonly logger: Logger;
  readonly logs: LogBuffer;
  readonly events: EventHub;
  readonly metrics: ServingMetrics;
  start(): Promise<StartedUrls>;
  /** Graceful: refuse new work, let streams finish within shutdownGraceMs, cancel, unload. */
  stop(): Promise<void>;
  /** A fresh one-time sign-in URL for the web UI. */
  newUiUrl(): string;
  urls(): ServiceUrls;
}

/** Refuses configurations that would expose the API without a key. */
export function checkExposure(settings: Settings): void {
  if (!settings.auth && !isLoopbackHost(settings.host)) {
    throw new SettingsError(
      `refusing to serve ${settings.host} without authentication: --no-auth is allowed only on ` +
        `a loopback address (127.0.0.1, ::1, localhost). Keep the API key on for other addresses.`,
    );
  }
}

function urlHost(host: string): string {
  const h = isWildcardHost(host) ? '127.0.0.1' : host;
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

// ─── Provider choice ─────────────────────────────────────────────────────────────────────
// The ONE place that decides which ModelProvider answers requests. A model folder given with
// --model (a path) is served as-is by the bundled provider; otherwise the registry-backed
// provider serves deployments, versions, canaries and shadows, and hands the admin routes
// its runtime as `registry`.
interface ProviderChoice {
  provider: ModelProvider;
  /** Eager work before the service reports ready (e.g. loading the default model). */
  warmUp(): Promise<void>;
  /** What `orchard serve` prints as served, e.g. "orchard-chat → orchard-chat@1". */
  serving(): string[];
  /** Extra dependencies handed to the admin route plugins. */
  adminDeps: Record<string, unknown>;
}

function isModelFolderSetting(model: string): boolean {
  return /[\\/]/.test(model) || model.startsWith('.');
}

async function chooseProvider(
  settings: Settings,
  logger: Logger,
  load: EngineLoader,
): Promise<ProviderChoice> {
  if (!isModelFolderSetting(settings.model)) {
    const runtime = await RegistryRuntime.open({
      settings,
      logger,
      load,
      shippedModelsDir: shippedModelsDir(),
    });
    return {
      provider: runtime.provider,
      warmUp: () => runtime.provider.warmUp(),
      serving: () => runtime.provider.serving(),
      adminDeps: { registry: runtime },
    };
  }
  const source = resolveModelSource(settings.model);
  const provider = new BundledProvider({
    source,
    engineOptions: engineOptionsFromSettings(settings),
    load,
    logger,
    keepAliveMs: settings.keepAlive * 1000,
  });
  return {
    provider,
    warmUp: () => provider.start(),
    serving: () => (provider.isReady() ? [`${source.name} → ${provider.servedName}`] : []),
    adminDeps: {},
  };
}
// ─────────────────────────────────────────────────────────────────────────────────────────

export async function createService(
  resolved: ResolvedSettings,
  options: ServiceOptions = {},
): Promise<Service> {
  const settings = resolved.settings;
  checkExposure(settings);
  ensureHome(settings.home);
  const homeLock = lockHome(settings.home);
  try {
    return await createLockedService(resolved, options, homeLock);
  } catch (err) {
    homeLock.release();
    throw err;
  }
}

async function createLockedService(
  resolved: ResolvedSettings,
  options: ServiceOptions,
  homeLock: HomeLock,
): Promise<Service> {
  const settings = resolved.settings;
  const { logger, buffer: logs } = createLogger(settings.logLevel, { console: options.logConsole });
  const key = loadOrCreateApiKey(settings.home, settings.apiKey);
  if (key.created) logger.info({ file: key.file }, 'created an API key');
  const choice = await chooseProvider(settings, logger, options.loadEngine ?? loadEngine);
  const provider = choice.provider;
  const events = new EventHub();
  const metrics = new ServingMetrics(() => provider.loaded());
  const sessions = new UiSessions();
  const inflight = new Inflight();
  const startedAt = Date.now();
  let draining = false;
  let urls: ServiceUrls = { baseUrl: '', apiUrl: '' };

  const deps: ServerDeps = {
    settings,
    resolved,
    provider,
    apiKey: key.key,
    logger,
    logs,
    events,
    metrics,
    sessions,
    inflight,
    hostPolicy: new HostPolicy({
      bindHost: settings.host,
      allowedHosts: settings.allowedHosts,
      corsOrigins: settings.corsOrigins,
    }),
    uiDir: builtUiDir(options.uiDir ?? uiDistDir()),
    version: packageVersion(),
    startedAt,
    urls: () => urls,
    draining: () => draining,
  };
  // The registry's admin API (src/server/admin), with whatever the provider choice hands it.
  deps.plugins = [(app) => adminRoutes(app, { ...deps, ...choice.adminDeps })];
  const app = await buildServer(deps);
  const status = (m: Omit<ServiceStatusMessage, 'type'>): void =>
    options.onStatus?.({ type: 'orchard:status', ...m });

  const newUiUrl = (): string =>
    settings.auth ? `${urls.baseUrl}/?token=${sessions.issueToken()}` : `${urls.baseUrl}/`;

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      draining = true;
      status({ state: 'stopping' });
      logger.info({ inflight: inflight.size, graceMs: settings.shutdownGraceMs }, 'shutting down');
      // Stop accepting connections; requests on open keep-alive connections now get 503.
      if (app.server.listening) app.server.close();
      const { cancelled } = await inflight.drain(settings.shutdownGraceMs);
      if (cancelled > 0)
        logger.warn({ cancelled }, 'cancelled requests still running at the deadline');
      await waitIdle(inflight, 5000);
      await app.close();
      await provider.close();
      removeRuntimeFile(settings.home);
      homeLock.release();
      logger.info('stopped');
      status({ state: 'stopped' });
    })();
    return stopping;
  };

  const start = async (): Promise<StartedUrls> => {
    status({ state: 'starting' });
    try {
      await app.listen({ host: settings.host, port: settings.port });
    } catch (err) {
      // Nothing is serving: give the home back so a retry (or another process) can take it.
      await app.close();
      await provider.close();
      homeLock.release();
      throw err;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : settings.port;
    const baseUrl = `http://${urlHost(settings.host)}:${port}`;
    urls = { baseUrl, apiUrl: `${baseUrl}/v1` };
    writeRuntimeFile(settings.home, {
      pid: process.pid,
      baseUrl,
      apiUrl: urls.apiUrl,
      startedAt: new Date(startedAt).toISOString(),
    });
    let loadError: string | undefined;
    try {
      await choice.warmUp();
    } catch (err) {
      loadError = (err as Error).message;
    }
    const started: StartedUrls = {
      ...urls,
      uiUrl: newUiUrl(),
      serving: choice.serving(),
      ...(loadError ? { loadError } : {}),
    };
    status({
      state: 'ready',
      apiUrl: started.apiUrl,
      uiUrl: started.uiUrl,
      serving: started.serving,
      ...(loadError ? { error: loadError } : {}),
    });
    return started;
  };

  return {
    settings,
    resolved,
    app,
    provider,
    apiKey: key.key,
    logger,
    logs,
    events,
    metrics,
    start,
    stop,
    newUiUrl,
    urls: () => urls,
  };
}

/**
 * Runs the service as a process: SIGINT/SIGTERM drain and exit 0 (a second signal exits at
 * once, a parent's request during the drain does not), and a supervising parent (Electron) gets
 * status messages and may send commands.
 */
export async function startService(
  resolved: ResolvedSettings,
  options: ServiceOptions = {},
): Promise<{ service: Service; urls: StartedUrls }> {
  const parent = parentChannel();
  const service = await createService(resolved, {
    ...options,
    onStatus: (m) => {
      parent?.send(m);
      options.onStatus?.(m);
    },
  });
  let exiting = false;
  /**
   * A second signal means "now" (Ctrl-C twice). The parent asking for a shutdown, or going away,
   * while a drain runs changes nothing: with `npm start` the terminal's Ctrl-C reaches the
   * service and its supervisor alike, and the supervisor's request must not cut the drain short.
   */
  const shutdown = (why: string, fromSignal: boolean): void => {
    if (exiting) {
      if (!fromSignal) return;
      service.logger.warn(`${why} again: exiting now`);
      process.exit(1);
    }
    exiting = true;
    service.logger.info(`${why}: draining`);
    service.stop().then(
      () => process.exit(0),
      (err: Error) => {
        service.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT', true));
  process.on('SIGTERM', () => shutdown('SIGTERM', true));
  parent?.onCommand((command) => {
    if (command.type === 'orchard:shutdown') shutdown('shutdown requested by the parent', false);
    else if (command.type === 'orchard:new-ui-token') {
      parent.send({
        type: 'orchard:status',
        state: 'ready',
        apiUrl: service.urls().apiUrl,
        uiUrl: service.newUiUrl(),
      });
    }
  });
  parent?.onDisconnect(() => shutdown('parent process went away', false));
  try {
    const urls = await service.start();
    return { service, urls };
  } catch (err) {
    parent?.send({ type: 'orchard:status', state: 'error', error: (err as Error).message });
    await service.stop().catch(() => undefined);
    throw err;
  }
}
