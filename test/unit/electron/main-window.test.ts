/**
 * MainWindow on its own, with the fake Electron module and a stand-in for the supervisor: what
 * it logs when a page does not load.
 */
import { describe, expect, it } from 'vitest';
import { MainWindow } from '../../../electron/main/main-window.js';
import type { ServiceSnapshot } from '../../../electron/main/service-supervisor.js';
import { createFakeElectron } from '../../support/fake-electron.js';

const TOKEN = 'QmFzZTY0VG9rZW5Gb3JUaGVXaW5kb3dPbmx5';

function snapshot(over: Partial<ServiceSnapshot>): ServiceSnapshot {
  return {
    state: 'starting',
    pid: 1,
    apiUrl: null,
    uiUrl: null,
    serving: [],
    lastError: null,
    warning: null,
    restarts: 0,
    crashesInWindow: 0,
    nextRestartAt: null,
    nextRestartDelayMs: null,
    generation: 1,
    ...over,
  };
}

describe('MainWindow', () => {
  it('a failed load of the sign-in link is logged without its token', async () => {
    const fake = createFakeElectron('/app');
    const logs: string[] = [];
    let current = snapshot({});
    const win = new MainWindow({
      electron: fake,
      preloadPath: '/app/preload.cjs',
      supervisor: {
        snapshot: () => current,
        requestUiToken: () => Promise.reject(new Error('not used')),
      },
      keepServingOnClose: () => true,
      isQuitting: () => false,
      log: (line) => logs.push(line),
    });
    win.showOrCreate();
    const bw = fake.windows[0];
    bw.loadFailure = (url) => (url.startsWith('http') ? 'ERR_CONNECTION_REFUSED (-102)' : null);
    current = snapshot({
      state: 'ready',
      apiUrl: 'http://127.0.0.1:11435/v1',
      uiUrl: `http://127.0.0.1:11435/?token=${TOKEN}`,
    });
    win.update(current);
    await new Promise((r) => setTimeout(r, 10));
    expect(bw.lastUrl).toBe(current.uiUrl);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(
      /^load failed: ERR_CONNECTION_REFUSED \(-102\) loading 'http:\/\/127\.0\.0\.1:11435\/\?token=/,
    );
    expect(logs.join('\n')).not.toContain(TOKEN);
  });
});

describe('MainWindow after its renderer died', () => {
  function setup() {
    const fake = createFakeElectron('/app');
    const logs: string[] = [];
    let tokens = 0;
    const current = snapshot({
      state: 'ready',
      apiUrl: 'http://127.0.0.1:11435/v1',
      uiUrl: 'http://127.0.0.1:11435/?token=first',
    });
    const win = new MainWindow({
      electron: fake,
      preloadPath: '/app/preload.cjs',
      supervisor: {
        snapshot: () => current,
        requestUiToken: async () => `http://127.0.0.1:11435/?token=fresh${++tokens}`,
      },
      keepServingOnClose: () => true,
      isQuitting: () => false,
      log: (line) => logs.push(line),
    });
    win.showOrCreate();
    return { fake, win, bw: fake.windows[0], logs, current };
  }

  const settle = () => new Promise((r) => setTimeout(r, 10));

  it('loads the UI again, signed in with a fresh link, instead of staying blank', async () => {
    const { bw, logs } = setup();
    await settle();
    expect(bw.lastUrl).toBe('http://127.0.0.1:11435/?token=first');
    bw.webContents.renderProcessGone('oom');
    await settle();
    expect(bw.lastUrl).toBe('http://127.0.0.1:11435/?token=fresh1');
    expect(logs.join('\n')).toMatch(/oom/);
  });

  it('a renderer that dies again at once is not reloaded in a loop; Open Orchard reloads it', async () => {
    const { win, bw } = setup();
    await settle();
    bw.webContents.renderProcessGone('crashed');
    await settle();
    const loads = bw.loadedUrls.length;
    bw.webContents.renderProcessGone('crashed');
    await settle();
    expect(bw.loadedUrls).toHaveLength(loads);
    win.showOrCreate(); // the user asks for the window: worth another try
    await settle();
    expect(bw.loadedUrls).toHaveLength(loads + 1);
    expect(bw.lastUrl).toMatch(/^http:\/\/127\.0\.0\.1:11435\/\?token=fresh/);
  });
});
