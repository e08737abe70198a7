/**
 * What the window may show and load: the "starting… / error" page used while the service is
 * not ready (a self-contained data: URL), and the content security policies for it and for the
 * UI the service serves.
 */
import crypto from 'node:crypto';
import type { ServiceSnapshot } from './service-supervisor.js';

/** Applied to every response from the service's origin shown in the window. */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  // React and uPlot set style attributes; no inline scripts are allowed.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

// The status page's only script; allowed by its hash, so the page needs no 'unsafe-inline'.
const STATUS_SCRIPT = [
  "for (const [id, call] of [['start', (o) => o.startService()], ['logs', (o) => o.revealLogs()]]) {",
  '  const el = document.getElementById(id);',
  '  if (el && window.orchard) el.addEventListener("click", () => call(window.orchard));',
  '}',
].join('\n');

const STATUS_SCRIPT_HASH = crypto.createHash('sha256').update(STATUS_SCRIPT).digest('base64');

export const STATUS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${STATUS_SCRIPT_HASH}'`,
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

type StatusInput = Pick<ServiceSnapshot, 'state' | 'lastError' | 'nextRestartDelayMs'>;

export function statusPageModel(s: StatusInput): {
  title: string;
  detail: string | null;
  canStart: boolean;
} {
  switch (s.state) {
    case 'starting':
    case 'ready':
      return {
        title: 'Starting Orchard…',
        detail: 'Loading the server and its models.',
        canStart: false,
      };
    case 'stopping':
      return { title: 'Stopping the server…', detail: null, canStart: false };
    case 'stopped':
      return { title: 'The server is stopped', detail: null, canStart: true };
    case 'crashed': {
      const secs =
        s.nextRestartDelayMs !== null ? Math.max(1, Math.round(s.nextRestartDelayMs / 1000)) : null;
      return {
        title:
          secs !== null ? `The server stopped; restarting in ${secs} s…` : 'Restarting the server…',
        detail: s.lastError,
        canStart: false,
      };
    }
    case 'error':
      return {
        title: 'The server could not run',
        detail: s.lastError ?? 'Unknown error.',
        canStart: true,
      };
  }
}

export function statusPageHtml(s: StatusInput): string {
  const m = statusPageModel(s);
  const busy = !m.canStart;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${STATUS_CONTENT_SECURITY_POLICY}">
<title>Orchard</title>
<style>
  :root { color-scheme: light dark; font-family: system-ui, sans-serif; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; }
  main { max-width: 36rem; padding: 2rem; text-align: center; }
  h1 { font-size: 1.3rem; font-weight: 600; }
  pre { white-space: pre-wrap; text-align: left; font-size: .85rem; opacity: .8; }
  .spinner { width: 28px; height: 28px; margin: 0 auto 1rem; border-radius: 50%;
    border: 3px solid #8884; border-top-color: #2e7d32; animation: spin 1s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  button { font: inherit; margin: .25rem; padding: .4rem .9rem; }
</style></head>
<body><main data-state="${s.state}">
${busy ? '<div class="spinner" aria-hidden="true"></div>' : ''}
<h1>${escapeHtml(m.title)}</h1>
${m.detail ? `<pre>${escapeHtml(m.detail)}</pre>` : ''}
${m.canStart ? '<button id="start">Start server</button>' : ''}
<button id="logs">Show logs</button>
</main>
<script>${STATUS_SCRIPT}</script>
</body></html>`;
}

export function statusPageUrl(s: StatusInput): string {
  return 'data:text/html;charset=utf-8,' + encodeURIComponent(statusPageHtml(s));
}

/** Adds the UI policy to a response's headers (header names are matched case-insensitively). */
export function withContentSecurityPolicy(
  headers: Record<string, string[]> | undefined,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k.toLowerCase() !== 'content-security-policy') out[k] = v;
  }
  const existing = Object.entries(headers ?? {}).find(
    ([k]) => k.toLowerCase() === 'content-security-policy',
  )?.[1];
  // Several policies are all enforced, so keeping the service's own can only tighten.
  out['Content-Security-Policy'] = [...(existing ?? []), UI_CONTENT_SECURITY_POLICY];
  return out;
}
