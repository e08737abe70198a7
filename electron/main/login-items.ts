/**
 * Start at login. macOS and Windows have it in Electron (app.get/setLoginItemSettings); Linux
 * does not, so there the shell writes an XDG autostart entry (~/.config/autostart). Either way
 * the app is started with --hidden, so a login start shows only the tray.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoginItemView } from '../shared/ipc-contract.js';
import type { AppLike } from './electron-like.js';

export const HIDDEN_ARG = '--hidden';
export const AUTOSTART_FILE = 'orchard.desktop';

export interface LoginItems {
  get(): LoginItemView;
  set(openAtLogin: boolean): LoginItemView;
}

export interface LoginItemsOptions {
  platform: NodeJS.Platform;
  /** The executable to start: the AppImage when run from one, else Electron's binary. */
  execPath: string;
  /** In development the app folder must follow Electron's binary; packaged apps need nothing. */
  appArgs: string[];
  /** XDG autostart folder (Linux). */
  autostartDir: string;
}

export function defaultLoginItemsOptions(app: AppLike, env = process.env): LoginItemsOptions {
  const configHome = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return {
    platform: process.platform,
    execPath: env.APPIMAGE || process.execPath,
    appArgs: app.isPackaged ? [] : [app.getAppPath()],
    autostartDir: path.join(configHome, 'autostart'),
  };
}

export function createLoginItems(app: AppLike, options: LoginItemsOptions): LoginItems {
  if (options.platform === 'linux') return xdgLoginItems(options);
  if (options.platform !== 'win32' && options.platform !== 'darwin') {
    return {
      get: () => ({ openAtLogin: false, supported: false }),
      set: () => ({ openAtLogin: false, supported: false }),
    };
  }
  // Windows matches the registry entry by path and args, so get and set must pass the same.
  const query =
    options.platform === 'win32'
      ? { path: options.execPath, args: [...options.appArgs, HIDDEN_ARG] }
      : undefined;
  const get = (): LoginItemView => ({
    openAtLogin: app.getLoginItemSettings(query).openAtLogin,
    supported: true,
  });
  return {
    get,
    set(openAtLogin) {
      app.setLoginItemSettings({ openAtLogin, ...query });
      return get();
    },
  };
}

function quoteExec(arg: string): string {
  // Desktop Entry spec: `%` starts a field code, so a literal one is `%%`. Arguments with
  // reserved characters are quoted, with " ` $ \ escaped inside; the file's string escapes
  // then apply on top of that, so every backslash is written twice.
  const text = arg.replace(/%/g, '%%');
  if (!/[\s"'\\`$<>~|&;*?#()]/.test(text)) return text;
  return `"${text.replace(/(["`$\\])/g, '\\$1')}"`.replace(/\\/g, '\\\\');
}

export function autostartEntry(options: LoginItemsOptions): string {
  const exec = [options.execPath, ...options.appArgs, HIDDEN_ARG].map(quoteExec).join(' ');
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Orchard',
    'Comment=Serve language models from this computer',
    `Exec=${exec}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

function xdgLoginItems(options: LoginItemsOptions): LoginItems {
  const file = path.join(options.autostartDir, AUTOSTART_FILE);
  const get = (): LoginItemView => {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return { openAtLogin: false, supported: true };
    }
    // A user may disable the entry in their desktop's settings rather than delete it.
    const disabled =
      /^Hidden\s*=\s*true\s*$/m.test(text) ||
      /^X-GNOME-Autostart-enabled\s*=\s*false\s*$/m.test(text);
    return { openAtLogin: !disabled, supported: true };
  };
  return {
    get,
    set(openAtLogin) {
      if (openAtLogin) {
        fs.mkdirSync(options.autostartDir, { recursive: true });
        fs.writeFileSync(file, autostartEntry(options));
      } else {
        fs.rmSync(file, { force: true });
      }
      return get();
    },
  };
}

/** Launched by the login item (or asked to start in the tray only). */
export function launchedHidden(app: AppLike, argv: string[], platform: NodeJS.Platform): boolean {
  if (argv.includes(HIDDEN_ARG)) return true;
  return platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true;
}
