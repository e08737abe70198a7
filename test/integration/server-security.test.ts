/**
 * Secure by default: key on every route but /health, Host allowlist, Origin/CORS, one-time UI
 * sign-in tokens that become an HttpOnly SameSite=Strict cookie, the static UI with its CSP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettingsError, resolveSettings } from '../../src/service/settings-loader.js';
import { createService } from '../../src/service/service.js';
import { startTestService, type TestService } from './server-harness.js';

let t: TestService;
let uiDir: string;

beforeAll(async () => {
  uiDir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-ui-'));
  fs.mkdirSync(path.join(uiDir, 'assets'));
  fs.writeFileSync(
    path.join(uiDir, 'index.html'),
    '<!doctype html><div id="root">orchard-ui</div>',
  );
  fs.writeFileSync(path.join(uiDir, 'assets', 'app-1.js'), 'console.log(1)');
  fs.writeFileSync(path.join(path.dirname(uiDir), 'outside-secret.txt'), 'secret');
  t = await startTestService({ corsOrigins: 'https://app.example.com' }, { uiDir });
});
afterAll(async () => {
  await t?.close();
  fs.rmSync(uiDir, { recursive: true, force: true });
});

const get = (p: string, headers: Record<string, string> = {}) =>
  fetch(t.urls.baseUrl + p, { headers, redirect: 'manual' });

function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  return set.split(';')[0];
}

describe('API key', () => {
  it('guards every route but /health', async () => {
    expect((await get('/health')).status).toBe(200);
    for (const p of [
      '/v1/models',
      '/ready',
      '/metrics',
      '/api/status',
      '/api/key',
      '/api/settings',
    ]) {
      expect((await get(p)).status, p).toBe(401);
      expect((await get(p, { authorization: `Bearer ${t.key}` })).status, p).toBe(200);
    }
  });

  it('keeps the key file owner-only', () => {
    if (process.platform === 'win32') return;
    expect(fs.statSync(path.join(t.home, 'api-key')).mode & 0o777).toBe(0o600);
  });
});

describe('Host and Origin', () => {
  it('refuses unknown Host names even on /health', async () => {
    const { status } = await import('node:http').then(
      (http) =>
        new Promise<{ status: number }>((resolve, reject) => {
          const url = new URL(t.urls.baseUrl);
          http
            .get(
              {
                host: url.hostname,
                port: url.port,
                path: '/health',
                headers: { host: 'rebind.example' },
              },
              (res) => {
                res.resume();
                resolve({ status: res.statusCode ?? 0 });
              },
            )
            .on('error', reject);
        }),
    );
    expect(status).toBe(403);
  });

  it('allows listed CORS origins with headers and preflight, refuses others', async () => {
    const ok = await get('/v1/models', {
      origin: 'https://app.example.com',
      authorization: `Bearer ${t.key}`,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const pre = await fetch(t.urls.baseUrl + '/v1/chat/completions', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    const bad = await get('/v1/models', {
      origin: 'https://evil.example',
      authorization: `Bearer ${t.key}`,
    });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    // Same-origin pages (the UI itself) are fine.
    const same = await get('/v1/models', {
      origin: t.urls.baseUrl,
      authorization: `Bearer ${t.key}`,
    });
    expect(same.status).toBe(200);
  });

  it("answers the OpenAI SDK's preflight (x-stainless-* headers) from an allowed origin", async () => {
    const sdkHeaders = [
      'authorization',
      'content-type',
      'x-stainless-os',
      'x-stainless-lang',
      'x-stainless-arch',
      'x-stainless-runtime',
      'x-stainless-runtime-version',
      'x-stainless-package-version',
      'x-stainless-retry-count',
      'x-stainless-timeout',
      'x-stainless-helper-method',
    ];
    const preflight = (requested: string | null, origin = 'https://app.example.com') =>
      fetch(t.urls.baseUrl + '/v1/chat/completions', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          ...(requested === null ? {} : { 'access-control-request-headers': requested }),
        },
      });
    const allowedBy = (res: Response) =>
      (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim());

    // Browsers send the list lower-cased and sorted; echo every name back.
    const pre = await preflight([...sdkHeaders].sort().join(','));
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowedBy(pre)).toEqual(expect.arrayContaining(sdkHeaders));
    expect(allowedBy(pre).some((h) => h.includes('*'))).toBe(false);
    expect(pre.headers.get('vary')).toMatch(/Access-Control-Request-Headers/);

    // Without a list, or with something that is not a header name: the fixed list, which
    // still spells out the SDK's headers.
    for (const requested of [null, 'x-stainless-os, bad header', 'x-a,\tx-b"']) {
      const res = await preflight(requested);
      expect(res.status, String(requested)).toBe(204);
      expect(allowedBy(res), String(requested)).toEqual(expect.arrayContaining(sdkHeaders));
      expect(allowedBy(res), String(requested)).not.toContain('bad header');
    }

    // Other origins still get no CORS answer.
    const evil = await preflight(sdkHeaders.join(','), 'https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-headers')).toBeNull();
  });
});

describe('UI sign-in', () => {
  it('trades the one-time token for a cookie that works, once', async () => {
    const uiUrl = new URL(t.urls.uiUrl);
    const token = uiUrl.searchParams.get('token');
    expect(token).toBeTruthy();
    const first = await get(uiUrl.pathname + uiUrl.search);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/');
    const setCookie = first.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Strict/);
    const cookie = cookieOf(first);

    const status = await get('/api/status', { cookie });
    expect(status.status).toBe(200);
    const models = await get('/v1/models', { cookie });
    expect(models.status).toBe(200);
    const chat = await fetch(t.urls.baseUrl + '/v1/chat/completions', {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: t.urls.baseUrl },
      body: JSON.stringify({
        model: 'orchard-chat',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 2,
      }),
    });
    expect(chat.status).toBe(200);

    const reused = await get(`/?token=${token}`);
    expect(reused.status).toBe(401);
    expect(reused.headers.get('set-cookie')).toBeNull();
    expect((await get('/api/status', { cookie: 'orchard_session=forged' })).status).toBe(401);
  });

  it('also signs in through /auth?token= and with the key in the form', async () => {
    const token = new URL(t.service.newUiUrl()).searchParams.get('token');
    const res = await get(`/auth?token=${token}`);
    expect(res.status).toBe(302);
    expect((await get('/api/key', { cookie: cookieOf(res) })).status).toBe(200);
    const form = await fetch(t.urls.baseUrl + '/auth', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: t.urls.baseUrl },
      body: new URLSearchParams({ key: t.key }).toString(),
    });
    expect(form.status).toBe(302);
    expect((await get('/api/status', { cookie: cookieOf(form) })).status).toBe(200);
    const wrong = await fetch(t.urls.baseUrl + '/auth', {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'key=nope',
    });
    expect(wrong.status).toBe(401);
  });

  it('answers malformed sign-in tokens like bad ones, not with a 500', async () => {
    const long = 'a'.repeat(201);
    for (const p of [
      '/?token=a&token=b',
      `/?token=${long}`,
      '/auth?token=a&token=b',
      `/auth?token=${long}`,
    ]) {
      const res = await get(p);
      expect(res.status, p).toBe(401);
      expect(res.headers.get('content-type'), p).toMatch(/text\/html/);
      expect(await res.text(), p).toMatch(/sign-in link was already used or has expired/);
      expect(res.headers.get('set-cookie'), p).toBeNull();
    }
    // A signed-in browser on another page is not bothered by a stray repeated token.
    const link = new URL(t.service.newUiUrl());
    const cookie = cookieOf(await get(link.pathname + link.search));
    const page = await get('/deployments/x?token=a&token=b', { cookie });
    expect(page.status).toBe(200);
  });

  it('serves the built UI with a CSP, SPA fallback and no path escapes', async () => {
    const unauth = await get('/');
    expect(unauth.status).toBe(401);
    expect(await unauth.text()).toContain('sign-in link');
    const signIn = await get(
      new URL(t.service.newUiUrl()).pathname + new URL(t.service.newUiUrl()).search,
    );
    const cookie = cookieOf(signIn);
    const index = await get('/', { cookie });
    expect(index.status).toBe(200);
    const html = await index.text();
    expect(html).toContain('orchard-ui');
    expect(html).not.toContain(t.key);
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    const asset = await get('/assets/app-1.js', { cookie });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const spa = await get('/deployments/orchard-chat', { cookie });
    expect(await spa.text()).toContain('orchard-ui');
    for (const p of [
      '/../outside-secret.txt',
      '/%2e%2e/outside-secret.txt',
      '/assets/..%2f..%2foutside-secret.txt',
    ]) {
      const r = await get(p, { cookie });
      expect(await r.text(), p).not.toContain('secret');
    }
    const apiMiss = await get('/api/nothing', { cookie });
    expect(apiMiss.status).toBe(404);
    expect(apiMiss.headers.get('content-type')).toMatch(/json/);
  });
});

describe('exposure rules', () => {
  it('refuses --no-auth on a non-loopback address', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-exp-'));
    const resolved = resolveSettings({
      flags: { home, host: '0.0.0.0', auth: false, port: 0 },
      env: {},
    });
    await expect(createService(resolved, { logConsole: null })).rejects.toBeInstanceOf(
      SettingsError,
    );
    await expect(createService(resolved, { logConsole: null })).rejects.toThrow(/loopback/);
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('serves without a key on loopback with --no-auth, Host checks still on', async () => {
    const open = await startTestService({ auth: false });
    try {
      expect((await fetch(open.urls.baseUrl + '/v1/models')).status).toBe(200);
      expect(open.urls.uiUrl).not.toContain('token=');
      const notBuilt = await fetch(open.urls.baseUrl + '/');
      expect(notBuilt.status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
