/**
 * Overview, Logs and Settings against a real `orchard serve`, plus what every view shares:
 * sign-in through the token URL, keyboard navigation with visible focus, labelled controls,
 * the OS dark preference, the desktop bridge when present, and a lost session.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SettingView, StatusResponse } from '../../src/shared/admin-api.js';
import { newContext, watchPageErrors } from '../support/browser.js';
import {
  screenshotDir,
  startOrchardUi,
  unlabelledControls,
  type OrchardUi,
} from './support/orchard-ui.js';
import fs from 'node:fs';
import path from 'node:path';

let ui: OrchardUi;
let client: OpenAI;

beforeAll(async () => {
  // Two engine replicas, so the overview shows them (each on one of the test's one thread).
  ui = await startOrchardUi({ flags: { replicas: 2 } });
  client = new OpenAI({ baseURL: ui.urls.apiUrl, apiKey: ui.service.apiKey, maxRetries: 0 });
});

afterAll(async () => {
  await ui?.close();
});

describe('overview', () => {
  it('shows the server, its URL, the device, loaded versions and live throughput', async () => {
    const { page } = ui;
    await ui.open('Overview');
    const status = await ui.api<StatusResponse>('GET', '/api/status');
    const stats = page.getByRole('group', { name: 'Server status' });
    await expect.poll(() => stats.innerText()).toContain('Running');
    expect(await stats.innerText()).toContain(`v${status.version}`);
    expect((await stats.innerText()).toLowerCase()).toContain(status.device.toLowerCase());
    expect(await page.getByLabel('API base URL', { exact: true }).innerText()).toBe(ui.urls.apiUrl);
    const loaded = page.getByRole('table', { name: 'Loaded versions' });
    await loaded.locator('tr[data-version="orchard-chat@1"]').waitFor();
    expect(await loaded.locator('tr[data-version="orchard-chat@1"]').innerText()).toMatch(
      /\d+(\.\d+)? MB/,
    );
    await expect
      .poll(() => loaded.locator('tr[data-version="orchard-chat@1"]').innerText())
      .toMatch(/orchard-chat: stable/);
    expect(await loaded.locator('tr[data-version="orchard-chat@1"]').innerText()).toContain(
      `${status.device} × 2`,
    );

    // Live tokens/s while a long generation runs.
    const long = client.chat.completions.create({
      model: 'orchard-chat',
      messages: [{ role: 'user', content: 'Tell a long story.' }],
      max_tokens: 600,
      // @ts-expect-error Orchard extension, not in the SDK's types
      ignore_eos: true,
    });
    const throughput = page.locator('.stat', { hasText: 'Throughput' }).locator('.stat-value');
    await expect
      .poll(async () => Number.parseFloat(await throughput.innerText()), { timeout: 30_000 })
      .toBeGreaterThan(0);
    await long;
    expect(await unlabelledControls(page)).toEqual([]);
    await ui.screenshot('overview');
  });

  it('fetches the API key only when asked, and it is the real key', async () => {
    const { page } = ui;
    await ui.open('Overview');
    expect(await page.content()).not.toContain(ui.service.apiKey);
    const keyRequests: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/key') keyRequests.push(r.url());
    });
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.getByTestId('api-key-value').innerText()).toBe(ui.service.apiKey);
    expect(keyRequests).toHaveLength(1);
    await page.getByRole('button', { name: 'Hide' }).click();
    expect(await page.content()).not.toContain(ui.service.apiKey);
  });
});

describe('logs', () => {
  it('tails the service log live and filters by level', async () => {
    const { page } = ui;
    await ui.open('Logs');
    const lines = page.getByRole('region', { name: 'Log lines' }).locator('tr');
    await expect.poll(() => lines.count()).toBeGreaterThan(0);

    // Each request is logged with its path: an unknown one makes a line nothing else could.
    const marker = `probe-${Date.now()}`;
    const res = await fetch(`${ui.urls.baseUrl}/api/${marker}`, {
      headers: { authorization: `Bearer ${ui.service.apiKey}` },
    });
    expect(res.status).toBe(404);
    await page.getByRole('region', { name: 'Log lines' }).getByText(marker).first().waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    await ui.screenshot('logs');

    await page.getByLabel('Level').selectOption('warn');
    await expect
      .poll(async () => {
        const levels = await page
          .locator('tr[data-level]')
          .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-level')));
        return levels.every((l) => l === 'warn' || l === 'error' || l === 'fatal');
      })
      .toBe(true);
    await page.getByLabel('Level').selectOption('info');
    await page.getByLabel('Search logs').fill(marker);
    await expect.poll(() => page.locator('tr[data-level]').count()).toBeGreaterThan(0);
    for (const text of await page.locator('tr[data-level]').allInnerTexts())
      expect(text).toContain(marker);
  });
});

describe('settings', () => {
  it('lists every setting with its value, source and description', async () => {
    const { page } = ui;
    await ui.open('Settings');
    const api = await ui.api<SettingView[]>('GET', '/api/settings');
    const rows = page.getByRole('table', { name: 'Service settings' }).locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(api.length);
    const port = api.find((s) => s.name === 'port')!;
    const portRow = page.locator('tr[data-setting="port"]');
    const text = await portRow.innerText();
    expect(text).toContain(port.flag);
    expect(text).toContain(port.env);
    expect(text).toContain(port.description);
    expect(text).toContain('command line');
    expect(await page.locator('tr[data-setting="device"]').innerText()).toContain('default');
    // In a browser there is no desktop bridge, and the page says so instead of showing dead toggles.
    expect(await page.locator('#desktop').innerText()).toMatch(
      /available in the Orchard desktop app/,
    );
    expect(await page.getByRole('checkbox', { name: 'Start Orchard when I log in' }).count()).toBe(
      0,
    );
    await page.getByLabel('Filter settings').fill('kv cache');
    await expect
      .poll(() => rows.count())
      .toBe(api.filter((s) => /kv cache/i.test(`${s.name} ${s.description}`)).length);
    await page.getByLabel('Filter settings').fill('');
    await page.getByLabel('Filter settings').blur();
    expect(await unlabelledControls(page)).toEqual([]);
    await ui.screenshot('settings');
  });

  it('offers start at login through the desktop bridge when it is there', async () => {
    const context = await newContext(ui.browser);
    // The Electron preload bridge, faked at the edge: the page only sees window.orchard.
    await context.addInitScript(() => {
      const calls: unknown[] = [];
      let startAtLogin = false;
      (window as unknown as { __bridgeCalls: unknown[] }).__bridgeCalls = calls;
      (window as unknown as { orchard: unknown }).orchard = {
        appVersion: async () => '9.9.9',
        getStartAtLogin: async () => startAtLogin,
        setStartAtLogin: async (enabled: boolean) => {
          calls.push(['setStartAtLogin', enabled]);
          startAtLogin = enabled;
          return startAtLogin;
        },
        onStartAtLoginChanged: () => () => undefined,
        openDataFolder: async () => calls.push(['openDataFolder']),
        revealLogs: async () => calls.push(['revealLogs']),
      };
    });
    const page = await context.newPage();
    await page.goto(ui.service.newUiUrl());
    await page.goto(`${ui.urls.baseUrl}/#/settings`);
    const toggle = page.getByRole('checkbox', { name: 'Start Orchard when I log in' });
    await expect.poll(() => toggle.isEnabled()).toBe(true);
    await toggle.check();
    await page.getByRole('button', { name: 'Open data folder' }).click();
    await page.getByText('Orchard desktop 9.9.9').waitFor();
    const calls = await page.evaluate(
      () => (window as unknown as { __bridgeCalls: unknown[] }).__bridgeCalls,
    );
    expect(calls).toEqual([['setStartAtLogin', true], ['openDataFolder']]);
    expect(await toggle.isChecked()).toBe(true);
    await context.close();
  });
});

describe('every view', () => {
  it('is reachable by keyboard with a visible focus ring', async () => {
    const { page } = ui;
    await ui.open('Overview');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    let focusedName = '';
    for (let i = 0; i < 12 && focusedName !== 'Deployments'; i++) {
      await page.keyboard.press('Tab');
      focusedName = await page.evaluate(
        () => (document.activeElement as HTMLElement | null)?.innerText?.trim() ?? '',
      );
    }
    expect(focusedName).toBe('Deployments');
    const outline = await page.evaluate(
      () => getComputedStyle(document.activeElement as Element).outlineStyle,
    );
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Deployments' }).waitFor();
    expect(await page.locator('[aria-current="page"]').innerText()).toBe('Deployments');
  });

  it('follows the OS dark preference', async () => {
    const context = await newContext(ui.browser, { colorScheme: 'dark' });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto(ui.service.newUiUrl());
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.locator('tr[data-version="orchard-chat@1"]').waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    expect(0.2126 * r + 0.7152 * g + 0.0722 * b).toBeLessThan(60);
    await page.waitForTimeout(300);
    fs.mkdirSync(screenshotDir(), { recursive: true });
    await page.screenshot({ path: path.join(screenshotDir(), 'overview-dark.png') });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says so when the session is gone instead of failing silently', async () => {
    const context = await newContext(ui.browser);
    const page = await context.newPage();
    await page.goto(ui.service.newUiUrl());
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await context.clearCookies();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Models' })
      .click();
    await page.getByRole('alert').filter({ hasText: 'This page is signed out.' }).waitFor();
    await context.close();
  });

  it('had no page errors or failed requests along the way', () => {
    expect(ui.pageErrors).toEqual([]);
  });
});

describe('keep-alive countdown', () => {
  it('follows the deadline that each request moves, instead of ending in "unloading"', async () => {
    const idle = await startOrchardUi({ flags: { keepAlive: 6 } });
    try {
      const api = new OpenAI({
        baseURL: idle.urls.apiUrl,
        apiKey: idle.service.apiKey,
        maxRetries: 0,
      });
      let using = true;
      const use = (async () => {
        while (using) {
          await api.chat.completions.create({
            model: 'orchard-chat',
            messages: [{ role: 'user', content: 'Hi' }],
            max_tokens: 2,
          });
          await new Promise((r) => setTimeout(r, 700));
        }
      })();
      try {
        await idle.open('Overview');
        const row = idle.page.locator('tr[data-version="orchard-chat@1"]');
        // (The page re-reads deadlines every 5 s: a first read may predate the first request.)
        await expect.poll(() => row.innerText(), { timeout: 15_000 }).toMatch(/\bin \d+s\b/);
        // Past the first deadline: the version is still in use, so still loaded, and the page
        // shows its moved deadline.
        await idle.page.waitForTimeout(7000);
        await expect.poll(() => row.innerText(), { timeout: 15_000 }).toMatch(/\bin \d+s\b/);
      } finally {
        using = false;
        await use;
      }
      expect(idle.pageErrors).toEqual([]);
    } finally {
      await idle.close();
    }
  });
});

describe('a service that stops', () => {
  it('is shown as not answering on Overview, not as running', async () => {
    const gone = await startOrchardUi();
    try {
      await gone.open('Overview');
      const server = gone.page.locator('.stat', { hasText: 'Server' });
      await expect.poll(() => server.innerText()).toContain('Running');
      await gone.service.stop();
      await expect.poll(() => server.innerText(), { timeout: 20_000 }).toContain('Not answering');
    } finally {
      await gone.close();
    }
  });
});
