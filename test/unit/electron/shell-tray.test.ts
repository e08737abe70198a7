/**
 * The tray as the user drives it, on the fake Electron module with a real service child: its
 * icon and status per state, Stop/Start reaching the supervisor, Load/Unload reaching the
 * service's admin API over HTTP, the clipboard, and start at login.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../../src/shared/admin-api.js';
import {
  eventually,
  startShell,
  waitReady,
  FIXTURE_KEY,
  type Harness,
} from './fixtures/shell-harness.js';
import { waitForSnapshot, waitUntilDead } from './fixtures/supervisor-helpers.js';

let h: Harness | null = null;
afterEach(async () => {
  await h?.cleanup();
  h = null;
});

async function modelsFromService(apiUrl: string): Promise<ModelSummary[]> {
  const res = await fetch(new URL('/api/models', apiUrl), {
    headers: { authorization: `Bearer ${FIXTURE_KEY}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ModelSummary[];
}

describe('tray', () => {
  it('shows serving with the address, and the icon files it uses exist', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const tray = h.fake.tray;
    expect(tray.item('status')?.label).toBe('Serving orchard-chat → orchard-chat@1');
    expect(tray.item('status-1')?.label).toBe(`on ${ready.apiUrl}`);
    expect(tray.toolTip).toBe(`Orchard\nServing orchard-chat → orchard-chat@1\non ${ready.apiUrl}`);
    expect(path.basename(tray.image.path)).toBe('tray-serving.png');
    // The first image (while starting) and the serving one are real PNGs on disk.
    for (const img of tray.images) expect(img.isEmpty()).toBe(false);
    for (const kind of ['serving', 'stopped', 'error']) {
      const dir = path.dirname(tray.image.path);
      expect(fs.existsSync(path.join(dir, `tray-${kind}.png`))).toBe(true);
      expect(fs.existsSync(path.join(dir, `tray-${kind}@2x.png`))).toBe(true);
    }
  });

  it('Stop server sends shutdown; the service exits; Start server brings it back', async () => {
    h = await startShell();
    const first = await waitReady(h);
    h.fake.tray.click('stop');
    expect(h.fake.tray.item('status')?.label).toBe('Stopping the server…');
    await waitForSnapshot(h.shell.supervisor, (s) => s.state === 'stopped');
    await waitUntilDead(first.pid!);
    expect(h.shell.supervisor.snapshot().lastError).toBeNull(); // an orderly stop, not a crash
    expect(h.fake.tray.item('status')?.label).toBe('Server stopped');
    expect(path.basename(h.fake.tray.image.path)).toBe('tray-stopped.png');
    expect(h.fake.tray.item('copy-api-url')?.enabled).toBe(false);
    const win = h.fake.openWindows()[0];
    expect(decodeURIComponent(win.lastUrl!)).toContain('The server is stopped');

    h.fake.tray.click('start');
    const second = await waitReady(h, 2);
    expect(second.pid).not.toBe(first.pid);
    await eventually(() => h!.fake.tray.item('status')?.label?.startsWith('Serving'));
    await eventually(() => win.lastUrl === second.uiUrl);
  });

  it('the Models submenu lists deployments and versions from the admin API', async () => {
    h = await startShell();
    await waitReady(h);
    const tray = h.fake.tray;
    await eventually(() => tray.item('version:orchard-chat@1'));
    expect(tray.item('deployment:orchard-chat')?.label).toBe(
      'orchard-chat: version 1, canary 2 (10%)',
    );
    expect(tray.item('version:orchard-chat@1')).toMatchObject({
      checked: true,
      label: 'Version 1 (loaded)',
    });
    expect(tray.item('version:orchard-chat@2')).toMatchObject({
      checked: false,
      label: 'Version 2',
    });
  });

  it('Load and Unload call the service and the menu follows what the service reports', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    const tray = h.fake.tray;
    await eventually(() => tray.item('version:orchard-chat@2'));

    tray.click('version:orchard-chat@2');
    expect(tray.item('busy')?.label).toBe('Loading orchard-chat@2…');
    expect(tray.item('version:orchard-chat@1')?.enabled).toBe(false);
    await eventually(() => tray.item('version:orchard-chat@2')?.checked === true);
    expect(tray.item('busy')).toBeUndefined();
    let models = await modelsFromService(ready.apiUrl!);
    expect(models[0].versions.map((v) => [v.version, v.loaded])).toEqual([
      ['1', true],
      ['2', true],
    ]);

    tray.click('version:orchard-chat@1');
    await eventually(() => tray.item('version:orchard-chat@1')?.checked === false);
    models = await modelsFromService(ready.apiUrl!);
    expect(models[0].versions.map((v) => [v.version, v.loaded])).toEqual([
      ['1', false],
      ['2', true],
    ]);
    // The service's own status message now says what it serves, and the status line follows.
    await eventually(() => tray.item('status')?.label === 'Serving orchard-chat → orchard-chat@2');
  });

  it('an admin API error shows in the menu instead of failing silently', async () => {
    h = await startShell({ apiKey: () => 'not-the-key' });
    await waitReady(h);
    const tray = h.fake.tray;
    const err = await eventually(() => tray.item('models-error'));
    expect(err.label).toBe('Could not list models: Missing or invalid API key.');
  });

  it('Copy API URL and Copy API key write them to the clipboard', async () => {
    h = await startShell();
    const ready = await waitReady(h);
    h.fake.tray.click('copy-api-url');
    h.fake.tray.click('copy-api-key');
    expect(h.fake.clipboardWrites).toEqual([ready.apiUrl, FIXTURE_KEY]);
  });

  it('Start at login (Linux): writes and removes the XDG autostart entry', async () => {
    h = await startShell();
    await waitReady(h);
    const file = path.join(h.autostartDir, 'orchard.desktop');
    expect(h.fake.tray.item('open-at-login')).toMatchObject({ checked: false, enabled: true });
    h.fake.tray.click('open-at-login');
    expect(fs.readFileSync(file, 'utf8')).toContain('Exec=/opt/Orchard/orchard --hidden\n');
    expect(h.fake.tray.item('open-at-login')?.checked).toBe(true);
    const win = h.fake.openWindows()[0];
    expect(win.webContents.sent.filter((m) => m.channel === 'login-item:changed')).toEqual([
      { channel: 'login-item:changed', payload: { openAtLogin: true, supported: true } },
    ]);
    h.fake.tray.click('open-at-login');
    expect(fs.existsSync(file)).toBe(false);
    expect(h.fake.tray.item('open-at-login')?.checked).toBe(false);
  });

  it('Start at login (Windows/macOS): uses app.setLoginItemSettings with the hidden flag', async () => {
    h = await startShell({
      platform: 'win32',
      loginItems: {
        platform: 'win32',
        execPath: 'C:\\Orchard\\Orchard.exe',
        appArgs: [],
        autostartDir: '',
      },
    });
    await waitReady(h);
    h.fake.tray.click('open-at-login');
    expect(h.fake.app.loginItemCalls).toEqual([
      { openAtLogin: true, path: 'C:\\Orchard\\Orchard.exe', args: ['--hidden'] },
    ]);
    expect(h.fake.tray.item('open-at-login')?.checked).toBe(true);
    h.fake.tray.click('open-at-login');
    expect(h.fake.app.loginItemCalls.at(-1)?.openAtLogin).toBe(false);
    expect(h.fake.app.loginItem.openAtLogin).toBe(false);
  });
});
