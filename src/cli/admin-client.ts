/**
 * For admin commands (`orchard ps`, `models`, `deploy`, …): talks to the running service over
 * HTTP with the API key from ORCHARD_HOME. Finds the service through service.json (written at
 * start, so --port 0 works) or the host/port settings.
 */
import { readApiKeyFile } from '../service/api-key.js';
import { readRuntimeFile } from '../service/runtime-file.js';
import type { Settings } from '../shared/settings.js';
import type { OpenAIErrorBody } from '../shared/errors.js';
import { CliError } from './cli-error.js';

export class AdminClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string | null,
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers: {
          ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new CliError(
        `no Orchard service answers at ${this.baseUrl}; start one with \`orchard serve\``,
      );
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const message =
        (parsed as OpenAIErrorBody | null)?.error?.message ?? `${res.status} ${res.statusText}`;
      throw new CliError(`${method} ${path}: ${message}`);
    }
    return parsed as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', path, body);
  }
}

export function adminClient(
  settings: Pick<Settings, 'home' | 'host' | 'port' | 'apiKey' | 'auth'>,
): AdminClient {
  const running = readRuntimeFile(settings.home);
  const host = ['0.0.0.0', '::'].includes(settings.host) ? '127.0.0.1' : settings.host;
  const baseUrl =
    running?.baseUrl ?? `http://${host.includes(':') ? `[${host}]` : host}:${settings.port}`;
  const key = settings.apiKey !== '' ? settings.apiKey : readApiKeyFile(settings.home);
  return new AdminClient(baseUrl, key);
}
