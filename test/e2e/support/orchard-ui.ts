/**
 * One real Orchard service (in this process, temp ORCHARD_HOME, port 0) and a headless Chromium
 * page signed in through the service's one-time token URL: what an e2e test drives.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createService, type Service, type StartedUrls } from '../../../src/service/service.js';
import { resolveSettings } from '../../../src/service/settings-loader.js';
import {
  ROOT,
  ensureUiBuilt,
  launchBrowser,
  newContext,
  watchPageErrors,
} from '../../support/browser.js';

/**
 * Where screenshots go: docs/screenshots (the README's pictures) only when
 * ORCHARD_UPDATE_SCREENSHOTS=1, otherwise a temp folder, so a test run leaves the tree clean
 * while still rendering every shot.
 */
export function screenshotDir(): string {
  if (process.env.ORCHARD_UPDATE_SCREENSHOTS === '1') return path.join(ROOT, 'docs', 'screenshots');
  return path.join(os.tmpdir(), `orchard-e2e-screenshots-${process.pid}`);
}

export interface OrchardUi {
  service: Service;
  urls: StartedUrls;
  home: string;
  browser: Browser;
  context: BrowserContext;
  page: Page;
  /** Uncaught page errors and console errors seen so far. */
  pageErrors: string[];
  /** Opens a view by its hash route and waits for its heading. */
  open(view: string, heading?: string): Promise<void>;
  /**
   * Saves <name>.png of the viewport (optionally made taller for the shot) in screenshotDir():
   * docs/screenshots with ORCHARD_UPDATE_SCREENSHOTS=1, a temp folder otherwise.
   */
  screenshot(name: string, options?: { height?: number }): Promise<void>;
  /** Authorised JSON call to the service (Bearer key), for checking what the UI did. */
  api<T>(method: string, route: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Extra settings as CLI flags would give them. */
  flags?: Record<string, unknown>;
  /** Environment seen by the service (e.g. HF_ENDPOINT for the fake hub); set for the test's duration. */
  env?: Record<string, string>;
  colorScheme?: 'light' | 'dark';
}

export async function startOrchardUi(options: StartOptions = {}): Promise<OrchardUi> {
  ensureUiBuilt();
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-e2e-'));
  const resolved = resolveSettings({
    flags: { home, port: 0, host: '127.0.0.1', logLevel: 'info', threads: 1, ...options.flags },
    env: {},
  });
  const service = await createService(resolved, { logConsole: null });
  const urls = await service.start();
  if (urls.loadError) throw new Error(`the service started without a model: ${urls.loadError}`);

  const browser = await launchBrowser();
  const context = await newContext(browser, { colorScheme: options.colorScheme ?? 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const pageErrors = watchPageErrors(page);
  await page.goto(urls.uiUrl);
  // The token URL sets the session cookie and redirects to the app.
  await page.waitForURL((u) => !u.search.includes('token='));
  await page.getByRole('navigation', { name: 'Main' }).waitFor();

  const base = urls.baseUrl;
  const ui: OrchardUi = {
    service,
    urls,
    home,
    browser,
    context,
    page,
    pageErrors,
    async open(view, heading) {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: heading ?? view, exact: true })
        .click();
      await page.waitForURL((u) => u.hash.startsWith(`#/${view.toLowerCase()}`));
      await page.getByRole('heading', { level: 1, name: heading ?? view }).waitFor();
    },
    async screenshot(name, shotOptions) {
      const dir = screenshotDir();
      fs.mkdirSync(dir, { recursive: true });
      const size = page.viewportSize();
      if (shotOptions?.height && size)
        await page.setViewportSize({ ...size, height: shotOptions.height });
      // Let charts and transitions settle on their latest data.
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(dir, `${name}.png`) });
      if (shotOptions?.height && size) await page.setViewportSize(size);
    },
    async api<T>(method: string, route: string, body?: unknown): Promise<T> {
      const res = await fetch(`${base}${route}`, {
        method,
        headers: {
          authorization: `Bearer ${service.apiKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async close() {
      await context.close().catch(() => undefined);
      await browser.close().catch(() => undefined);
      await service.stop();
      fs.rmSync(home, { recursive: true, force: true });
      if (process.env.ORCHARD_UPDATE_SCREENSHOTS !== '1')
        fs.rmSync(screenshotDir(), { recursive: true, force: true });
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
  return ui;
}

/** Every visible form control on the page has an accessible name (a label or aria-label). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const controls = document.querySelectorAll<HTMLElement>('input, select, textarea, button');
    for (const el of controls) {
      if (el.offsetParent === null && getComputedStyle(el).position !== 'fixed') continue;
      if ((el as HTMLInputElement).type === 'hidden') continue;
      const labelled =
        el.getAttribute('aria-label') ||
        el.getAttribute('aria-labelledby') ||
        ((el as HTMLInputElement).labels?.length ?? 0) > 0 ||
        (el.tagName === 'BUTTON' && el.textContent?.trim());
      if (!labelled) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}
