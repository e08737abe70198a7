/**
 * The shell's lifecycle on the fake Electron module with a real service child process: the
 * locked-down window and what it loads, single-instance hand-off, close-to-tray vs quit, start
 * hidden at login, and how crashes and restarts reach the window.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { UI_CONTENT_SECURITY_POLICY } from '../../../electron/main/window-content.js';
import type { FakeBrowserWindow } from '../../support/fake-electron.js';
import { eventually, startShell, waitReady, type Harness } from './fixtures/shell-harness.js';
import { isAlive, waitForSnapshot, waitUntilDead } from './fixtures/supervisor-helpers.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.cleanup();
  h = null;
});

const decodeDataUrl = (url: string) =>
  decodeURIComponent(url.replace(/^data:text\/html;charset=utf-8,/, ''));

function onlyWindow(): FakeBrowserWindow {
  const open = h!.fake.openWindows();
  expect(open).toHaveLength(1);
  return open[0];
}

describe('shell lifecycle', () => {
  it('opens one locked-down window: status page while starting, then the signed-in UI', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const win = onlyWindow();
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    });
    expect(win.options.webPreferences.preload).toBe(
      path.join(h.fake.app.getAppPath(), 'dist', 'electron', 'preload', 'preload.cjs'),
    );
    const first = win.loadedUrls[0];
    expect(first.startsWith('data:text/html')).toBe(true);
    expect(decodeDataUrl(first)).toContain('Starting Orchard…');
    await eventually(() => win.lastUrl === ready.uiUrl);
    expect(win.visible).toBe(true);

    // CSP on the service's responses; other origins are not the shell's business.
    const origin = new URL(ready.apiUrl!).origin;
    const headers = h.fake.defaultSession.responseHeaders(`${origin}/`, {
      'content-type': ['text/html'],
    });
    expect(headers['Content-Security-Policy']).toEqual([UI_CONTENT_SECURITY_POLICY]);
    expect(headers['content-type']).toEqual(['text/html']);
    expect(h.fake.defaultSession.responseHeaders('https://example.com/', {})).toEqual({});

    // Navigation stays on the service; links elsewhere open in the browser, never in the app.
    expect(win.webContents.navigate(`${origin}/models`)).toBe(true);
    expect(win.webContents.navigate('https://example.com/docs')).toBe(false);
    expect(win.webContents.openWindow('https://huggingface.co/')).toBe('deny');
    expect(h.fake.externalUrls).toEqual(['https://example.com/docs', 'https://huggingface.co/']);
    expect(win.webContents.navigate('file:///etc/passwd')).toBe(false);
    expect(h.fake.externalUrls).toHaveLength(2);

    expect(h.fake.defaultSession.requestPermission('clipboard-sanitized-write')).toBe(true);
    expect(h.fake.defaultSession.requestPermission('media')).toBe(false);
    expect(h.fake.defaultSession.requestPermission('geolocation')).toBe(false);
  });

  it('a second launch focuses the existing window instead of opening another', async () => {
    h = await startShell();
    await waitReady(h);
    const win = onlyWindow();
    win.close(); // hides: keep serving is on by default
    expect(win.visible).toBe(false);
    win.minimize();
    const focusBefore = win.focusCount;
    h.fake.app.launchSecondInstance(['orchard']);
    expect(onlyWindow()).toBe(win);
    expect(win.visible).toBe(true);
    expect(win.isMinimized()).toBe(false);
    expect(win.focusCount).toBe(focusBefore + 1);
  });

  it('the second instance itself hands over and quits without starting a service', async () => {
    h = await startShell({ before: (fake) => (fake.app.anotherInstanceRunning = true) });
    expect(h.started).toBe(false);
    expect(h.fake.app.quitRequests).toBe(1);
    expect(h.fake.windows).toHaveLength(0);
    expect(h.fake.trays).toHaveLength(0);
    expect(h.shell.supervisor.snapshot()).toMatchObject({ state: 'stopped', generation: 0 });
  });

  it('closing the window keeps serving in the tray; Quit stops the service, then the app', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const win = onlyWindow();
    win.close();
    expect(win.isDestroyed()).toBe(false);
    expect(win.visible).toBe(false);
    expect(h.fake.app.quitted).toBe(false);
    expect(h.shell.supervisor.snapshot().state).toBe('ready');
    expect(isAlive(ready.pid!)).toBe(true);

    h.fake.tray.click('quit');
    // Quit waits for the service: Electron's quit was cancelled until it has stopped.
    expect(h.fake.app.quitted).toBe(false);
    expect(h.shell.supervisor.snapshot().state).toBe('stopping');
    await h.shell.whenQuitHandled();
    expect(h.fake.app.quitted).toBe(true);
    expect(h.shell.supervisor.snapshot().state).toBe('stopped');
    await waitUntilDead(ready.pid!);
    expect(win.isDestroyed()).toBe(true);
    expect(h.fake.tray.destroyed).toBe(true);
    expect(h.fake.ipcHandlers.size).toBe(0);
  });

  it('with "keep serving" off, closing the window quits and stops the service', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    h.fake.tray.click('keep-serving');
    expect(h.shell.prefs.get().keepServingOnClose).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(h.home, 'desktop.json'), 'utf8'))).toEqual({
      keepServingOnClose: false,
    });
    expect(h.fake.tray.item('keep-serving')?.checked).toBe(false);
    onlyWindow().close();
    await h.shell.whenQuitHandled();
    expect(h.fake.app.quitted).toBe(true);
    await waitUntilDead(ready.pid!);
  });

  it('started hidden at login: tray only; Open Orchard creates the window on demand', async () => {
    h = await startShell({ argv: ['orchard', '--hidden'] });
    const ready = await waitReady(h);
    expect(h.fake.windows).toHaveLength(0);
    expect(h.fake.tray.item('status')?.label).toMatch(/^Serving /);
    h.fake.tray.click('open');
    const win = onlyWindow();
    await eventually(() => win.lastUrl === ready.uiUrl);
  });

  it('a new window after the first is gone asks the service for a fresh sign-in link', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const first = onlyWindow();
    await eventually(() => first.lastUrl === ready.uiUrl);
    first.destroy(); // e.g. the renderer went away; the app keeps running in the tray
    expect(h.fake.app.quitted).toBe(false);
    h.fake.tray.click('open');
    const second = onlyWindow();
    expect(second).not.toBe(first);
    const url = await eventually(() => {
      const u = second.lastUrl;
      return u && u.startsWith('http') ? u : undefined;
    });
    expect(url).toMatch(/\?token=/);
    expect(url).not.toBe(ready.uiUrl);
  });

  it('a crash shows in the window and tray, and the restarted service is shown again', async () => {
    h = await startShell({ supervisor: { policy: { initialDelayMs: 300 } } });
    const ready = await waitReady(h);
    const win = onlyWindow();
    await eventually(() => win.lastUrl === ready.uiUrl);
    process.kill(ready.pid!, 'SIGKILL');
    await waitForSnapshot(h.shell.supervisor, (s) => s.state === 'crashed');
    const page = decodeDataUrl(win.lastUrl!);
    expect(page).toContain('The server stopped; restarting in 1 s…');
    expect(page).toContain('the server was killed by SIGKILL');
    expect(h.fake.tray.image.path.endsWith('tray-error.png')).toBe(true);
    expect(win.webContents.sent.at(-1)).toMatchObject({
      channel: 'service:changed',
      payload: { state: 'crashed', lastError: 'the server was killed by SIGKILL' },
    });

    const again = await waitReady(h, 2);
    await eventually(() => win.lastUrl === again.uiUrl);
    expect(h.fake.tray.image.path.endsWith('tray-serving.png')).toBe(true);
  });

  it('repeated crashes end in an error page with the reason and a Start button', async () => {
    h = await startShell({
      fixtureMode: 'crash-at-start',
      supervisor: { policy: { initialDelayMs: 20, maxCrashes: 3 } },
    });
    await waitForSnapshot(h.shell.supervisor, (s) => s.state === 'error', 30_000);
    const win = onlyWindow();
    const page = decodeDataUrl(win.lastUrl!);
    expect(page).toContain('The server could not run');
    expect(page).toContain('stopped unexpectedly 3 times');
    expect(page).toContain('fatal: the model file is corrupt');
    expect(page).toContain('<button id="start">');
    expect(h.fake.tray.item('status-1')?.label).toMatch(/^The server stopped unexpectedly 3 times/);
    expect(h.fake.tray.image.path.endsWith('tray-error.png')).toBe(true);
  });
});

describe('shell quit', () => {
  it('a restart or start asked for while Quit is stopping the service does not launch another one', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const win = onlyWindow();
    // "Restart server" in the UI, then Quit from the tray before the old process is gone,
    // and a Start from the page while the quit is still stopping the service.
    const restarting = h.fake.invoke(win, 'service:restart');
    h.fake.tray.click('quit');
    await h.fake.invoke(win, 'service:start');
    await restarting;
    await h.shell.whenQuitHandled();
    expect(h.fake.app.quitted).toBe(true);
    await waitUntilDead(ready.pid!);
    // Give a relaunch that should not happen the time to show up.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.shell.supervisor.snapshot()).toMatchObject({
      state: 'stopped',
      pid: null,
      generation: 1,
    });
  });
});

describe('the one-time sign-in link', () => {
  it('never lands in the service log file', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const token = new URL(ready.uiUrl!).searchParams.get('token')!;
    expect(token.length).toBeGreaterThan(8);
    const logFile = path.join(h.home, 'logs', 'service.log');
    const text = await eventually(() => {
      const t = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
      return t.includes('UI:') ? t : undefined;
    });
    expect(text).toContain('UI:  http://127.0.0.1:');
    expect(text).not.toContain(token);
  });
});
