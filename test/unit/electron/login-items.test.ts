import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  autostartEntry,
  createLoginItems,
  launchedHidden,
} from '../../../electron/main/login-items.js';
import { createFakeElectron } from '../../support/fake-electron.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('login items', () => {
  it('Linux entry quotes paths with spaces and passes the app folder in development', () => {
    const entry = autostartEntry({
      platform: 'linux',
      execPath: '/home/me/My Apps/electron',
      appArgs: ['/home/me/src/orchard'],
      autostartDir: '/unused',
    });
    expect(entry).toContain('Exec="/home/me/My Apps/electron" /home/me/src/orchard --hidden\n');
    expect(entry).toMatch(/^\[Desktop Entry\]\nType=Application\nName=Orchard\n/);
  });

  it('Linux entry escapes quotes, dollars, backslashes and percent signs as the spec says', () => {
    const entry = autostartEntry({
      platform: 'linux',
      execPath: '/opt/a "b" $c\\d/100%/electron',
      appArgs: [],
      autostartDir: '/unused',
    });
    // Exec level: "/opt/a \"b\" \$c\\d/100%%/electron"; the file doubles each backslash.
    expect(entry).toContain('Exec="/opt/a \\\\"b\\\\" \\\\$c\\\\\\\\d/100%%/electron" --hidden\n');
  });

  it('Linux: an entry the desktop disabled counts as off', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-autostart-'));
    dirs.push(dir);
    const fake = createFakeElectron('/app');
    const items = createLoginItems(fake.app, {
      platform: 'linux',
      execPath: '/o',
      appArgs: [],
      autostartDir: dir,
    });
    expect(items.get()).toEqual({ openAtLogin: false, supported: true });
    expect(items.set(true)).toEqual({ openAtLogin: true, supported: true });
    const file = path.join(dir, 'orchard.desktop');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(file, 'utf8')
        .replace('X-GNOME-Autostart-enabled=true', 'X-GNOME-Autostart-enabled=false'),
    );
    expect(items.get().openAtLogin).toBe(false);
  });

  it('macOS uses the app API without Windows-only path/args', () => {
    const fake = createFakeElectron('/app');
    const items = createLoginItems(fake.app, {
      platform: 'darwin',
      execPath: '/A.app',
      appArgs: [],
      autostartDir: '',
    });
    expect(items.set(true)).toEqual({ openAtLogin: true, supported: true });
    expect(fake.app.loginItemCalls).toEqual([{ openAtLogin: true }]);
  });

  it('other platforms report it unsupported instead of pretending', () => {
    const fake = createFakeElectron('/app');
    const items = createLoginItems(fake.app, {
      platform: 'freebsd',
      execPath: '/o',
      appArgs: [],
      autostartDir: '',
    });
    expect(items.set(true)).toEqual({ openAtLogin: false, supported: false });
    expect(fake.app.loginItemCalls).toEqual([]);
  });

  it('a login start is hidden: --hidden anywhere, or macOS saying it opened at login', () => {
    const fake = createFakeElectron('/app');
    expect(launchedHidden(fake.app, ['orchard', '--hidden'], 'linux')).toBe(true);
    expect(launchedHidden(fake.app, ['orchard'], 'linux')).toBe(false);
    fake.app.loginItem.wasOpenedAtLogin = true;
    expect(launchedHidden(fake.app, ['orchard'], 'darwin')).toBe(true);
    expect(launchedHidden(fake.app, ['orchard'], 'win32')).toBe(false);
  });
});
