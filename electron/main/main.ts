/**
 * Electron's entry point (package.json "main": dist/electron/main/main.js). The only file that
 * loads the real `electron` module; everything else takes it as a parameter. The import goes
 * through a variable so TypeScript builds this without electron's types installed.
 */
import { readApiKeyFile } from '../../src/service/api-key.js';
import { resolveSettings } from '../../src/service/settings-loader.js';
import { defaultHome } from '../../src/shared/settings.js';
import type { ElectronLike } from './electron-like.js';
import { utilityProcessLauncher } from './service-process.js';
import { createShell, shellPaths } from './shell.js';

const ELECTRON_MODULE = 'electron';
const loaded = (await import(ELECTRON_MODULE)) as { default?: unknown };
const electron = (loaded.default ?? loaded) as ElectronLike;

/**
 * The same home and API key the service will resolve. A broken settings file must not keep
 * the window from opening: the service reports the problem and the window shows it.
 */
function resolveHomeAndKey(): { home: string; apiKey: string } {
  try {
    const { settings } = resolveSettings({ env: process.env });
    return { home: settings.home, apiKey: settings.apiKey };
  } catch {
    return {
      home: process.env.ORCHARD_HOME || defaultHome(),
      apiKey: process.env.ORCHARD_API_KEY ?? '',
    };
  }
}

const { home, apiKey } = resolveHomeAndKey();
const appRoot = electron.app.getAppPath();

const shell = createShell(electron, {
  home,
  appRoot,
  launcher: utilityProcessLauncher(electron, shellPaths(appRoot).serviceEntry),
  serviceArgs: ['serve'],
  apiKey: () => {
    if (apiKey) return apiKey;
    try {
      return readApiKeyFile(home);
    } catch {
      return null;
    }
  },
  electronVersion: (process.versions as Record<string, string | undefined>).electron ?? null,
});

// `npm start` in a terminal: Ctrl-C (or a SIGTERM) quits the way the tray's Quit does, so the
// service drains instead of dying with the app.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => electron.app.quit());
}

try {
  await shell.start();
} catch (err) {
  electron.dialog.showErrorBox('Orchard could not start', (err as Error).stack ?? String(err));
  electron.app.exit(1);
}
