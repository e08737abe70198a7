/**
 * window.orchard end to end on the fake Electron module: the real preload source run the way a
 * sandboxed renderer runs it (CommonJS, `require` knows only 'electron'), calling the real
 * main-process handlers of a running shell, with a real service child behind them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { INVOKE_CHANNELS, EVENT_CHANNELS } from '../../../electron/shared/ipc-contract.js';
import type { OrchardApi } from '../../../electron/preload/api-types.js';
import type { ServiceView } from '../../../electron/shared/ipc-contract.js';
import { eventually, startShell, waitReady, type Harness } from './fixtures/shell-harness.js';
import { waitForSnapshot } from './fixtures/supervisor-helpers.js';

const PRELOAD_SOURCE = fileURLToPath(
  new URL('../../../electron/preload/preload.cts', import.meta.url),
);

let h: Harness | null = null;
afterEach(async () => {
  await h?.cleanup();
  h = null;
});

async function withPreload(): Promise<{ api: OrchardApi; harness: Harness }> {
  h = await startShell();
  await waitReady(h);
  const win = h.fake.openWindows()[0];
  const exposed = h.fake.runPreload(win, PRELOAD_SOURCE);
  expect(Object.keys(exposed)).toEqual(['orchard']);
  return { api: exposed.orchard as OrchardApi, harness: h };
}

describe('preload and IPC', () => {
  it('main registers exactly the contract channels', async () => {
    h = await startShell();
    expect([...h.fake.ipcHandlers.keys()].sort()).toEqual([...INVOKE_CHANNELS].sort());
  });

  it('every window.orchard call goes to a contract channel, and together they cover all of them', async () => {
    const { api, harness } = await withPreload();
    const hit = new Set<string>();
    const win = harness.fake.openWindows()[0];
    // Watch the channel each call uses by wrapping the handlers main registered.
    for (const [channel, handler] of harness.fake.ipcHandlers) {
      harness.fake.ipcHandlers.set(channel, (e, ...a) => {
        hit.add(channel);
        return handler(e, ...a);
      });
    }
    await api.appVersion();
    await api.appInfo();
    await api.getStartAtLogin();
    await api.setStartAtLogin(false);
    await api.openDataFolder();
    await api.revealLogs();
    await api.getServiceState();
    await api.getDesktopPrefs();
    await api.setDesktopPrefs({ keepServingOnClose: true });
    await api.restartService();
    await api.stopService();
    await api.startService();
    expect([...hit].sort()).toEqual([...INVOKE_CHANNELS].sort());
    expect(win.isDestroyed()).toBe(false);
  });

  it('answers with real values from main', async () => {
    const { api, harness } = await withPreload();
    expect(await api.appVersion()).toBe('0.1.0');
    expect(await api.appInfo()).toEqual({
      name: 'Orchard',
      version: '0.1.0',
      platform: 'linux',
      electron: null,
      dataFolder: harness.home,
    });
    const view = await api.getServiceState();
    expect(view).toMatchObject({ state: 'ready', lastError: null, restarts: 0 });
    expect(view.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    // The one-time sign-in link stays in main; the page never sees it.
    expect(JSON.stringify(view)).not.toContain('token');

    await api.openDataFolder();
    expect(harness.fake.openedPaths).toEqual([harness.home]);
    await api.revealLogs();
    const logDir = path.join(harness.home, 'logs');
    expect([...harness.fake.openedPaths, ...harness.fake.shownItems].at(-1)).toMatch(
      new RegExp(`^${logDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
  });

  it('start at login round-trips and notifies the page', async () => {
    const { api, harness } = await withPreload();
    const seen: boolean[] = [];
    const dispose = api.onStartAtLoginChanged((on) => seen.push(on));
    expect(await api.getStartAtLogin()).toBe(false);
    expect(await api.setStartAtLogin(true)).toBe(true);
    expect(fs.existsSync(path.join(harness.autostartDir, 'orchard.desktop'))).toBe(true);
    expect(harness.fake.tray.item('open-at-login')?.checked).toBe(true);
    dispose();
    expect(await api.setStartAtLogin(false)).toBe(false);
    expect(seen).toEqual([true]);
  });

  it('service listeners get state changes until disposed', async () => {
    const { api, harness } = await withPreload();
    const seen: ServiceView[] = [];
    const dispose = api.onServiceStateChanged((v) => seen.push(v));
    await api.stopService();
    expect(seen.map((v) => v.state)).toEqual(['stopping', 'stopped']);
    dispose();
    await api.startService();
    await waitForSnapshot(harness.shell.supervisor, (s) => s.state === 'ready');
    expect(seen.map((v) => v.state)).toEqual(['stopping', 'stopped']);
    const wc = harness.fake.openWindows()[0].webContents;
    expect(wc.rendererListeners.get('service:changed')?.size ?? 0).toBe(0);
  });

  it('desktop preferences round-trip and reach the tray', async () => {
    const { api, harness } = await withPreload();
    const seen: boolean[] = [];
    api.onDesktopPrefsChanged((p) => seen.push(p.keepServingOnClose));
    expect(await api.getDesktopPrefs()).toEqual({ keepServingOnClose: true });
    expect(await api.setDesktopPrefs({ keepServingOnClose: false })).toEqual({
      keepServingOnClose: false,
    });
    expect(seen).toEqual([false]);
    await eventually(() => harness.fake.tray.item('keep-serving')?.checked === false);
  });

  it('refuses calls from other pages and malformed arguments', async () => {
    h = await startShell();
    await waitReady(h);
    const stranger = { webContents: { id: 999 } };
    await expect(h.fake.invoke(stranger, 'app:info')).rejects.toThrow(/refused/);
    const win = h.fake.openWindows()[0];
    await expect(h.fake.invoke(win, 'login-item:set', 'yes')).rejects.toThrow(/invalid arguments/);
    await expect(h.fake.invoke(win, 'prefs:set', { nodeIntegration: true })).rejects.toThrow(
      /invalid arguments/,
    );
    await expect(h.fake.invoke(win, 'service:stop', 'now')).rejects.toThrow(/invalid arguments/);
    expect(h.shell.supervisor.snapshot().state).toBe('ready');
  });

  it('the contract lists each event channel the main process sends', async () => {
    const { harness } = await withPreload();
    await harness.shell.supervisor.restart();
    await waitReady(harness, 2);
    harness.fake.tray.click('keep-serving');
    harness.fake.tray.click('open-at-login');
    const sent = new Set(harness.fake.openWindows()[0].webContents.sent.map((m) => m.channel));
    expect([...sent].sort()).toEqual([...EVENT_CHANNELS].sort());
  });
});
