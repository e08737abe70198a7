/**
 * The preload: exposes `window.orchard` to the app's window through contextBridge, built from the
 * one IPC contract. It runs sandboxed, where a preload is a CommonJS script that may require
 * nothing but 'electron' — hence the .cts extension, a single file, and type-only imports.
 * Listeners return a disposer; callbacks get the payload only, never the IPC event (whose
 * `sender` would hand the page ipcRenderer itself).
 */
import type {
  EventChannel,
  InvokeArgs,
  InvokeChannel,
  InvokeResult,
  IpcEventContract,
  DesktopPrefs,
  ServiceView,
} from '../shared/ipc-contract.js';

/** The part of Electron's ipcRenderer this file uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function createOrchardApi(ipc: IpcRendererLike) {
  const invoke = <C extends InvokeChannel>(
    channel: C,
    ...args: InvokeArgs<C>
  ): Promise<InvokeResult<C>> => ipc.invoke(channel, ...args) as Promise<InvokeResult<C>>;

  const listen = <C extends EventChannel>(
    channel: C,
    callback: (payload: IpcEventContract[C]) => void,
  ): (() => void) => {
    const listener = (_event: unknown, payload: unknown) =>
      callback(payload as IpcEventContract[C]);
    ipc.on(channel, listener);
    return () => {
      ipc.removeListener(channel, listener);
    };
  };

  // Flat names, as the renderer's settings page calls them (renderer/src/desktop.ts).
  return {
    /** The app's version, e.g. "0.1.0". */
    appVersion: () => invoke('app:info').then((info) => info.version),
    /** Name, version, platform, Electron version and the data folder. */
    appInfo: () => invoke('app:info'),

    getStartAtLogin: () => invoke('login-item:get').then((v) => v.openAtLogin),
    /** Resolves with the setting as it now is. */
    setStartAtLogin: (enabled: boolean) =>
      invoke('login-item:set', enabled).then((v) => v.openAtLogin),
    onStartAtLoginChanged: (callback: (enabled: boolean) => void) =>
      listen('login-item:changed', (v) => callback(v.openAtLogin)),

    openDataFolder: () => invoke('folder:open-data'),
    revealLogs: () => invoke('folder:reveal-logs'),

    getServiceState: () => invoke('service:get'),
    startService: () => invoke('service:start'),
    stopService: () => invoke('service:stop'),
    restartService: () => invoke('service:restart'),
    onServiceStateChanged: (callback: (view: ServiceView) => void) =>
      listen('service:changed', callback),

    getDesktopPrefs: () => invoke('prefs:get'),
    setDesktopPrefs: (patch: Partial<DesktopPrefs>) => invoke('prefs:set', patch),
    onDesktopPrefsChanged: (callback: (prefs: DesktopPrefs) => void) =>
      listen('prefs:changed', callback),
  };
}

export type OrchardApi = ReturnType<typeof createOrchardApi>;

interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: IpcRendererLike;
}

// Only inside Electron's renderer; importing this file elsewhere (tests) just defines the API.
if (typeof process !== 'undefined' && (process as { type?: string }).type === 'renderer') {
  // A sandboxed preload is CommonJS with a require that knows only 'electron'; an import
  // statement would compile to the same require, but `import` from 'electron' needs its types.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { contextBridge, ipcRenderer } = require('electron') as PreloadElectron;
  contextBridge.exposeInMainWorld('orchard', createOrchardApi(ipcRenderer));
}
