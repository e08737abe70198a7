/**
 * The desktop shell: app lifecycle around the supervised service. One instance per user (a
 * second launch focuses the first), the service in a supervised child, a window that shows its
 * UI, a tray that outlives the window, and a quit that stops the service before the app exits.
 * Electron comes in as a parameter, so tests drive all of this with a fake.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ServiceView } from '../shared/ipc-contract.js';
import { createAdminClient } from './admin-client.js';
import { DesktopPrefsStore } from './desktop-prefs.js';
import type { ElectronLike } from './electron-like.js';
import { registerIpcHandlers, type InvokeHandlers } from './ipc-handlers.js';
import {
  createLoginItems,
  defaultLoginItemsOptions,
  launchedHidden,
  type LoginItems,
  type LoginItemsOptions,
} from './login-items.js';
import { MainWindow } from './main-window.js';
import { ServiceLogFile, redactSignInTokens } from './service-log.js';
import type { ServiceLauncher } from './service-process.js';
import {
  ServiceSupervisor,
  type ServiceSnapshot,
  type SupervisorOptions,
} from './service-supervisor.js';
import { TrayController } from './tray-controller.js';

export interface ShellOptions {
  /** ORCHARD_HOME: the data folder the service uses. */
  home: string;
  /** Root of the app's files (app.getAppPath()): dist/, resources/icons. */
  appRoot: string;
  launcher: ServiceLauncher;
  /** Arguments for the service entry; default ['serve']. */
  serviceArgs?: string[];
  serviceEnv?: NodeJS.ProcessEnv;
  argv?: string[];
  platform?: NodeJS.Platform;
  /** The API key for the admin API (setting or the key file in ORCHARD_HOME). */
  apiKey: () => string | null;
  fetch?: typeof fetch;
  loginItems?: LoginItems | LoginItemsOptions;
  supervisor?: Pick<SupervisorOptions, 'policy' | 'stopTimeoutMs' | 'readyTimeoutMs' | 'clock'>;
  trayRefreshIntervalMs?: number;
  electronVersion?: string | null;
  /** Also copy the service's output to this process's stdout/stderr (default true). */
  echoServiceOutput?: boolean;
  log?: (line: string) => void;
}

export interface ShellPaths {
  preload: string;
  trayIconsDir: string;
  appIcon: string;
  /** What `orchard serve` runs, compiled. */
  serviceEntry: string;
}

export function shellPaths(appRoot: string): ShellPaths {
  return {
    preload: path.join(appRoot, 'dist', 'electron', 'preload', 'preload.cjs'),
    trayIconsDir: path.join(appRoot, 'resources', 'icons', 'tray'),
    appIcon: path.join(appRoot, 'resources', 'icons', 'icon.png'),
    serviceEntry: path.join(appRoot, 'dist', 'src', 'cli', 'main.js'),
  };
}

export interface Shell {
  readonly supervisor: ServiceSupervisor;
  readonly window: MainWindow;
  readonly tray: TrayController;
  readonly prefs: DesktopPrefsStore;
  readonly loginItems: LoginItems;
  /** False when another instance already runs (this one then quits). */
  start(): Promise<boolean>;
  isQuitting(): boolean;
  /** Resolves once a quit has stopped the service and handed over to Electron. */
  whenQuitHandled(): Promise<void>;
}

export function serviceView(s: ServiceSnapshot): ServiceView {
  return {
    state: s.state,
    apiUrl: s.apiUrl,
    serving: s.serving,
    lastError: s.lastError,
    warning: s.warning,
    restarts: s.restarts,
    nextRestartAt: s.nextRestartAt,
  };
}

function isLoginItems(v: LoginItems | LoginItemsOptions): v is LoginItems {
  return typeof (v as LoginItems).get === 'function';
}

export function createShell(electron: ElectronLike, options: ShellOptions): Shell {
  const { app } = electron;
  const log = options.log ?? ((line: string) => console.log(`[orchard] ${line}`));
  const platform = options.platform ?? process.platform;
  const argv = options.argv ?? process.argv;
  const paths = shellPaths(options.appRoot);
  const prefs = new DesktopPrefsStore(options.home);
  const loginItemsOption = options.loginItems ?? defaultLoginItemsOptions(app);
  const loginItems = isLoginItems(loginItemsOption)
    ? loginItemsOption
    : createLoginItems(app, loginItemsOption);

  let quitting = false;
  let quitHandled = false;
  let quitStop: Promise<void> | null = null;
  let resolveQuitHandled: () => void = () => undefined;
  const quitHandledPromise = new Promise<void>((r) => (resolveQuitHandled = r));

  const serviceLog = new ServiceLogFile(path.join(options.home, 'logs'));
  const supervisor = new ServiceSupervisor({
    launcher: options.launcher,
    args: options.serviceArgs ?? ['serve'],
    env: { ...(options.serviceEnv ?? process.env), ORCHARD_HOME: options.home },
    onOutput: (stream, raw) => {
      const text = redactSignInTokens(raw);
      serviceLog.write(text);
      if (options.echoServiceOutput ?? true) {
        (stream === 'stderr' ? process.stderr : process.stdout).write(text);
      }
    },
    ...options.supervisor,
  });

  const window = new MainWindow({
    electron,
    preloadPath: paths.preload,
    iconPath: paths.appIcon,
    supervisor,
    keepServingOnClose: () => prefs.get().keepServingOnClose,
    isQuitting: () => quitting,
    log,
  });

  const admin = createAdminClient({
    apiUrl: () => supervisor.snapshot().apiUrl,
    apiKey: options.apiKey,
    fetch: options.fetch,
  });

  const tray = new TrayController({
    electron,
    trayIconsDir: paths.trayIconsDir,
    supervisor,
    admin,
    apiKey: options.apiKey,
    loginItems,
    prefs,
    openWindow: () => window.showOrCreate(),
    quit: () => app.quit(),
    onLoginItemChanged: (view) => window.send('login-item:changed', view),
    refreshIntervalMs: options.trayRefreshIntervalMs,
    platform,
    log,
  });

  const revealLogs = async (): Promise<void> => {
    if (fs.existsSync(serviceLog.file)) electron.shell.showItemInFolder(serviceLog.file);
    else await openFolder(serviceLog.dir);
  };

  const openFolder = async (folder: string): Promise<void> => {
    fs.mkdirSync(folder, { recursive: true });
    const error = await electron.shell.openPath(folder);
    if (error) throw new Error(`Could not open ${folder}: ${error}`);
  };

  const handlers: InvokeHandlers = {
    'app:info': () => ({
      name: app.getName(),
      version: app.getVersion(),
      platform,
      electron: options.electronVersion ?? null,
      dataFolder: options.home,
    }),
    'login-item:get': () => loginItems.get(),
    'login-item:set': (openAtLogin) => {
      const view = loginItems.set(openAtLogin);
      tray.refreshLocalState();
      window.send('login-item:changed', view);
      return view;
    },
    'folder:open-data': () => openFolder(options.home),
    'folder:reveal-logs': () => revealLogs(),
    'service:get': () => serviceView(supervisor.snapshot()),
    'service:start': () => supervisor.start(),
    'service:stop': () => supervisor.stop(),
    'service:restart': () => supervisor.restart(),
    'prefs:get': () => prefs.get(),
    'prefs:set': (patch) => prefs.set(patch),
  };

  let unregisterIpc: () => void = () => undefined;

  async function start(): Promise<boolean> {
    if (!app.requestSingleInstanceLock()) {
      log('Orchard is already running; focusing it.');
      app.quit();
      return false;
    }
    app.on('second-instance', () => window.showOrCreate());
    app.on('activate', () => window.showOrCreate());
    app.on('window-all-closed', () => {
      // Subscribing keeps Electron from quitting on its own; we quit only when asked to.
      if (!prefs.get().keepServingOnClose) app.quit();
    });
    app.on('before-quit', (event) => {
      quitting = true;
      if (quitHandled) return;
      event.preventDefault();
      // shutdown(), not stop(): a restart or start still in flight must not relaunch the
      // service once the app is on its way out.
      quitStop ??= supervisor.shutdown().then(() => {
        quitHandled = true;
        tray.dispose();
        unregisterIpc();
        resolveQuitHandled();
        app.quit();
      });
    });

    await app.whenReady();
    unregisterIpc = registerIpcHandlers(electron.ipcMain, handlers, (event) =>
      window.isTrustedSender(event.sender.id),
    );
    supervisor.subscribe((s) => {
      window.update(s);
      window.send('service:changed', serviceView(s));
    });
    prefs.subscribe((p) => window.send('prefs:changed', p));
    tray.start();
    supervisor.start();
    if (!launchedHidden(app, argv, platform)) window.showOrCreate();
    return true;
  }

  return {
    supervisor,
    window,
    tray,
    prefs,
    loginItems,
    start,
    isQuitting: () => quitting,
    whenQuitHandled: () => quitHandledPromise,
  };
}
