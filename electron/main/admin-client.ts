/**
 * The few admin API calls the tray makes (list models and deployments, load/unload a version),
 * over plain fetch with the API key. Shapes come from src/shared/admin-api.ts, the same ones the
 * server routes and the React app use.
 */
import type {
  DeploymentSummary,
  ModelSummary,
  VersionSummary,
} from '../../src/shared/admin-api.js';
import { OrchardError, type ErrorType } from '../../src/shared/errors.js';

export interface AdminClientOptions {
  /** The service's API base (e.g. http://127.0.0.1:11435/v1), or null when it is not running. */
  apiUrl: () => string | null;
  apiKey: () => string | null;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export interface AdminClient {
  listModels(): Promise<ModelSummary[]>;
  listDeployments(): Promise<DeploymentSummary[]>;
  loadVersion(model: string, version: string): Promise<VersionSummary>;
  unloadVersion(model: string, version: string): Promise<VersionSummary>;
}

export function createAdminClient(options: AdminClientOptions): AdminClient {
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function call<T>(method: 'GET' | 'POST', route: string): Promise<T> {
    const apiUrl = options.apiUrl();
    if (!apiUrl) throw new OrchardError('The server is not running.', 503, 'service_unavailable');
    const url = new URL(route, new URL(apiUrl).origin).toString();
    const headers: Record<string, string> = { accept: 'application/json' };
    const key = options.apiKey();
    if (key) headers.authorization = `Bearer ${key}`;
    let res: Response;
    try {
      res = await doFetch(url, { method, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new OrchardError(
        `Cannot reach the server at ${url}: ${(err as Error).message}`,
        503,
        'service_unavailable',
      );
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // a non-JSON error page: reported below by status
    }
    if (!res.ok) {
      const e = (body as { error?: { message?: string; type?: ErrorType; code?: string } } | null)
        ?.error;
      throw new OrchardError(
        e?.message ?? `${method} ${route} failed with HTTP ${res.status}`,
        res.status,
        e?.type ?? (res.status >= 500 ? 'server_error' : 'invalid_request_error'),
        null,
        e?.code ?? null,
      );
    }
    return body as T;
  }

  const versionRoute = (model: string, version: string, action: 'load' | 'unload') =>
    `/api/models/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/${action}`;

  return {
    listModels: () => call<ModelSummary[]>('GET', '/api/models'),
    listDeployments: () => call<DeploymentSummary[]>('GET', '/api/deployments'),
    loadVersion: (m, v) => call<VersionSummary>('POST', versionRoute(m, v, 'load')),
    unloadVersion: (m, v) => call<VersionSummary>('POST', versionRoute(m, v, 'unload')),
  };
}
