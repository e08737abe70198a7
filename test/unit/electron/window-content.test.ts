import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  STATUS_CONTENT_SECURITY_POLICY,
  UI_CONTENT_SECURITY_POLICY,
  statusPageHtml,
  statusPageUrl,
  withContentSecurityPolicy,
} from '../../../electron/main/window-content.js';

const base = { lastError: null, nextRestartDelayMs: null };

describe('status page', () => {
  it('its only inline script is allowed by hash, and nothing else may run or load', () => {
    const html = statusPageHtml({ ...base, state: 'error', lastError: 'boom' });
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
    expect(scripts).toHaveLength(1);
    const hash = crypto.createHash('sha256').update(scripts[0]).digest('base64');
    expect(STATUS_CONTENT_SECURITY_POLICY).toContain(`'sha256-${hash}'`);
    expect(STATUS_CONTENT_SECURITY_POLICY).toContain("default-src 'none'");
    expect(html).toContain(`content="${STATUS_CONTENT_SECURITY_POLICY}"`);
  });

  it('escapes the error text it shows', () => {
    const html = statusPageHtml({
      ...base,
      state: 'error',
      lastError: '<img src=x onerror=alert(1)>',
    });
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
  });

  it('offers Start only where starting makes sense', () => {
    const has = (state: Parameters<typeof statusPageHtml>[0]['state']) =>
      statusPageHtml({ ...base, state }).includes('id="start"');
    expect(['stopped', 'error'].map((s) => has(s as 'stopped'))).toEqual([true, true]);
    expect(['starting', 'stopping', 'crashed'].map((s) => has(s as 'starting'))).toEqual([
      false,
      false,
      false,
    ]);
  });

  it('is a self-contained data: URL', () => {
    const url = statusPageUrl({ ...base, state: 'starting' });
    expect(url.startsWith('data:text/html;charset=utf-8,')).toBe(true);
    expect(decodeURIComponent(url)).toContain('Starting Orchard…');
  });
});

describe('UI content security policy', () => {
  it('forbids inline and foreign scripts, plugins and framing', () => {
    expect(UI_CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(UI_CONTENT_SECURITY_POLICY).not.toMatch(/script-src[^;]*unsafe/);
    expect(UI_CONTENT_SECURITY_POLICY).toContain("object-src 'none'");
    expect(UI_CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });

  it("is added next to the service's own policy, never replacing it", () => {
    const out = withContentSecurityPolicy({
      'content-security-policy': ["default-src 'none'"],
      'x-frame-options': ['DENY'],
    });
    expect(out['Content-Security-Policy']).toEqual([
      "default-src 'none'",
      UI_CONTENT_SECURITY_POLICY,
    ]);
    expect(out['content-security-policy']).toBeUndefined();
    expect(out['x-frame-options']).toEqual(['DENY']);
  });
});
