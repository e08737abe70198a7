/**
 * The supervisor and the shell with the real service: `bin/orchard.js serve --port 0` with a
 * temp ORCHARD_HOME, the shipped models and real ONNX Runtime. Killed with SIGKILL, the service
 * is restarted and the API answers again on its new port; the tray's Load/Unload go through the
 * real admin API; a stop is orderly (the service drains and removes its runtime file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeForkLauncher } from '../../electron/main/service-process.js';
import { ServiceSupervisor } from '../../electron/main/service-supervisor.js';
import { createShell } from '../../electron/main/shell.js';
import { readApiKeyFile } from '../../src/service/api-key.js';
import type { ModelSummary } from '../../src/shared/admin-api.js';
import { createFakeElectron } from '../support/fake-electron.js';
import { eventually } from '../unit/electron/fixtures/shell-harness.js';
import {
  health,
  recordSnapshots,
  waitForSnapshot,
  waitUntilDead,
} from '../unit/electron/fixtures/supervisor-helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ORCHARD_BIN = path.join(ROOT, 'bin', 'orchard.js');

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-sup-'));
  cleanups.push(() => fs.rmSync(home, { recursive: true, force: true }));
  return home;
}

function serviceEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, ORCHARD_HOME: home, ORCHARD_LOG_LEVEL: 'warn' };
}

describe('supervising the real orchard serve', () => {
  it('restarts it after SIGKILL and /health answers on the new port', async () => {
    const home = tempHome();
    const sup = new ServiceSupervisor({
      launcher: nodeForkLauncher(ORCHARD_BIN),
      args: ['serve', '--port', '0'],
      env: serviceEnv(home),
      policy: { initialDelayMs: 250 },
    });
    cleanups.push(() => sup.stop());
    sup.start();
    const first = await waitForSnapshot(sup, (s) => s.state === 'ready', 90_000);
    expect(first.serving.join(' ')).toContain('orchard-chat');
    expect((await health(first.apiUrl!)).status).toBe(200);

    const t0 = performance.now();
    process.kill(first.pid!, 'SIGKILL');
    const crashed = await waitForSnapshot(sup, (s) => s.state === 'crashed');
    expect(crashed.lastError).toBe('the server was killed by SIGKILL');
    const second = await waitForSnapshot(
      sup,
      (s) => s.state === 'ready' && s.generation === 2,
      90_000,
    );
    const recoveredMs = performance.now() - t0;
    console.log(
      `real service: SIGKILL → ready again on a new port in ${recoveredMs.toFixed(0)} ms`,
    );

    expect(second.pid).not.toBe(first.pid);
    expect(second.apiUrl).not.toBe(first.apiUrl);
    expect((await health(second.apiUrl!)).status).toBe(200);
    await expect(health(first.apiUrl!)).rejects.toThrow();
  });

  it('stops it in order: shutdown message, drain, exit 0, runtime file removed', async () => {
    const home = tempHome();
    const sup = new ServiceSupervisor({
      launcher: nodeForkLauncher(ORCHARD_BIN),
      args: ['serve', '--port', '0'],
      env: serviceEnv(home),
    });
    cleanups.push(() => sup.stop());
    sup.start();
    const ready = await waitForSnapshot(sup, (s) => s.state === 'ready', 90_000);
    expect(fs.existsSync(path.join(home, 'service.json'))).toBe(true);
    const rec = recordSnapshots(sup);
    await sup.stop();
    rec.off();
    expect(rec.states()).toEqual(['stopping', 'stopped']);
    expect(sup.snapshot().lastError).toBeNull();
    await waitUntilDead(ready.pid!);
    expect(fs.existsSync(path.join(home, 'service.json'))).toBe(false);
  });

  it('a service that cannot start (port taken) ends in a visible error with its reason', async () => {
    const home = tempHome();
    const blocker = (await import('node:net')).createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const sup = new ServiceSupervisor({
      launcher: nodeForkLauncher(ORCHARD_BIN),
      args: ['serve', '--port', String(port)],
      env: serviceEnv(home),
      policy: { initialDelayMs: 50, maxCrashes: 2 },
    });
    cleanups.push(() => sup.stop());
    sup.start();
    const s = await waitForSnapshot(sup, (x) => x.state === 'error', 120_000);
    expect(s.lastError).toMatch(/stopped unexpectedly 2 times/);
    expect(s.lastError).toMatch(/EADDRINUSE/);
  });

  it("the tray's Models menu loads and unloads versions through the real admin API", async () => {
    const home = tempHome();
    const fake = createFakeElectron(ROOT);
    const shell = createShell(fake, {
      home,
      appRoot: ROOT,
      launcher: nodeForkLauncher(ORCHARD_BIN),
      serviceArgs: ['serve', '--port', '0'],
      serviceEnv: serviceEnv(home),
      apiKey: () => readApiKeyFile(home),
      platform: 'linux',
      argv: ['electron', '.', '--hidden'],
      loginItems: {
        platform: 'linux',
        execPath: '/x',
        appArgs: [],
        autostartDir: path.join(home, 'a'),
      },
      echoServiceOutput: false,
      trayRefreshIntervalMs: 0,
      log: () => undefined,
    });
    cleanups.push(async () => {
      fake.app.quit();
      await shell.whenQuitHandled();
    });
    await shell.start();
    const ready = await waitForSnapshot(shell.supervisor, (s) => s.state === 'ready', 90_000);
    const tray = fake.tray;
    const listing = await eventually(() => {
      const err = tray.item('models-error');
      if (err) throw new Error(`the tray could not list models: ${err.label}`);
      return tray.item('version:orchard-chat@2');
    }, 30_000);
    expect(listing.checked).toBe(false);
    expect(tray.item('deployment:orchard-chat')?.label).toMatch(/^orchard-chat: version 1/);

    const loaded = async () => {
      const res = await fetch(new URL('/api/models', ready.apiUrl!), {
        headers: { authorization: `Bearer ${readApiKeyFile(home)}` },
      });
      const models = (await res.json()) as ModelSummary[];
      const chat = models.find((m) => m.name === 'orchard-chat')!;
      return chat.versions.filter((v) => v.loaded).map((v) => v.version);
    };

    tray.click('version:orchard-chat@2');
    await eventually(() => tray.item('version:orchard-chat@2')?.checked === true, 60_000);
    expect(tray.item('notice')).toBeUndefined();
    expect(await loaded()).toContain('2');

    tray.click('version:orchard-chat@2');
    await eventually(() => tray.item('version:orchard-chat@2')?.checked === false, 60_000);
    expect(await loaded()).not.toContain('2');
  });
});
