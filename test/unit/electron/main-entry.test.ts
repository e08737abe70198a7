/**
 * The real entry file (electron/main/main.ts) with `electron` resolved to the fake: it must
 * find the home folder, fork the compiled service in a utility process with `serve`, and wire
 * window, tray and quit around it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createFakeElectron, type FakeUtilityProcess } from '../../support/fake-electron.js';
import { REPO_ROOT, eventually } from './fixtures/shell-harness.js';

const fake = createFakeElectron(REPO_ROOT);
vi.mock('electron', () => ({ default: fake }));

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-main-'));
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('electron/main/main.ts', () => {
  it('starts the service in a utility process and quits only after it exits', async () => {
    const saved = { home: process.env.ORCHARD_HOME, key: process.env.ORCHARD_API_KEY };
    process.env.ORCHARD_HOME = home;
    process.env.ORCHARD_API_KEY = 'main-entry-key';
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const before = new Set([...process.listeners('SIGINT'), ...process.listeners('SIGTERM')]);
    try {
      await import('../../../electron/main/main.js');
    } finally {
      process.env.ORCHARD_HOME = saved.home;
      if (saved.key === undefined) delete process.env.ORCHARD_API_KEY;
      else process.env.ORCHARD_API_KEY = saved.key;
    }
    const child = await eventually(
      () => fake.utilityProcesses[0] as FakeUtilityProcess | undefined,
    );
    expect(child.modulePath).toBe(path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js'));
    expect(child.args).toEqual(['serve']);
    expect(child.options?.env?.ORCHARD_HOME).toBe(home);
    expect(fake.windows).toHaveLength(1);

    child.emit('message', {
      type: 'orchard:status',
      state: 'ready',
      apiUrl: 'http://127.0.0.1:11435/v1',
      uiUrl: 'http://127.0.0.1:11435/?token=abc',
      serving: ['orchard-chat → orchard-chat@1'],
    });
    await eventually(() => fake.windows[0].lastUrl === 'http://127.0.0.1:11435/?token=abc');
    fake.tray.click('copy-api-key');
    expect(fake.clipboardWrites).toEqual(['main-entry-key']);

    fake.tray.click('quit');
    expect(child.posted).toEqual([{ type: 'orchard:shutdown' }]);
    expect(fake.app.quitted).toBe(false);
    child.emit('message', { type: 'orchard:status', state: 'stopped' });
    child.emit('exit', 0);
    await eventually(() => fake.app.quitted);
    expect(fake.errorBoxes).toEqual([]);

    // Ctrl-C in the terminal that ran `npm start` quits the same way (listeners added by main).
    const added = (['SIGINT', 'SIGTERM'] as const).flatMap((sig) =>
      process
        .listeners(sig)
        .filter((l) => !before.has(l))
        .map((l) => [sig, l] as const),
    );
    expect(added.map(([sig]) => sig)).toEqual(['SIGINT', 'SIGTERM']);
    const quitsBefore = fake.app.quitRequests;
    for (const [sig, l] of added) {
      process.off(sig, l);
      l(sig);
    }
    expect(fake.app.quitRequests).toBe(quitsBefore + 2);
  });
});
