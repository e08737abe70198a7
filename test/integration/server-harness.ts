/**
 * A real service for integration tests: temp ORCHARD_HOME, free loopback port, the shipped
 * model, the official openai client.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import {
  createService,
  type Service,
  type ServiceOptions,
  type StartedUrls,
} from '../../src/service/service.js';
import { resolveSettings } from '../../src/service/settings-loader.js';
import type { Settings } from '../../src/shared/settings.js';

export interface TestService {
  service: Service;
  urls: StartedUrls;
  client: OpenAI;
  home: string;
  key: string;
  /** fetch against the service with the key (unless headers override it). */
  api(pathname: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export async function startTestService(
  overrides: Partial<Record<keyof Settings, unknown>> = {},
  options: ServiceOptions = {},
): Promise<TestService> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-it-'));
  const resolved = resolveSettings({
    flags: { home, port: 0, logLevel: 'warn', threads: 1, kvCacheMb: 32, ...overrides },
    env: {},
  });
  const service = await createService(resolved, { logConsole: null, ...options });
  const urls = await service.start();
  const key = service.apiKey;
  const client = new OpenAI({ baseURL: urls.apiUrl, apiKey: key, maxRetries: 0, timeout: 120_000 });
  return {
    service,
    urls,
    client,
    home,
    key,
    api: (pathname, init = {}) =>
      fetch(urls.baseUrl + pathname, {
        ...init,
        headers: { authorization: `Bearer ${key}`, ...(init.headers as Record<string, string>) },
      }),
    close: async () => {
      await service.stop();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}

/** JSON POST with the key. */
export async function postJson(
  t: TestService,
  pathname: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await t.api(pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body:
      typeof body === 'string' || body instanceof Uint8Array
        ? (body as string)
        : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { text };
  }
  return { status: res.status, json };
}

export async function waitFor(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
