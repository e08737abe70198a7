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

  return {
    app: {
      /** Name, version, platform, Electron version and the data folder. */
      info: () => invoke('app:info'),
    },
    loginItem: {
      get: () => invoke('login-item:get'),
      set: (openAtLogin: boolean) => invoke('login-item:set', openAtLogin),
      onChanged: (callback: (view: IpcEventContract['login-item:changed']) => void) =>
        listen('login-item:changed', callback),
    },
    folders: {
      openData: () => invoke('folder:open-data'),
      revealLogs: () => invoke('folder:reveal-logs'),
    },
    service: {
      get: () => invoke('service:get'),
      start: () => invoke('service:start'),
      stop: () => invoke('service:stop'),
      restart: () => invoke('service:restart'),
      onChanged: (callback: (view: IpcEventContract['service:changed']) => void) =>
        listen('service:changed', callback),
    },
    prefs: {
      get: () => invoke('prefs:get'),
      set: (patch: Partial<DesktopPrefs>) => invoke('prefs:set', patch),
      onChanged: (callback: (prefs: IpcEventContract['prefs:changed']) => void) =>
        listen('prefs:changed', callback),
    },
  };
}

export type OrchardApi = ReturnType<typeof createOrchardApi>;

interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: IpcRendererLike;
}

// Only inside Electron's renderer; importing this file elsewhere (tests) just defines the API.
if (typeof process !== 'undefined' && (process as { type?: string }).type === 'renderer') {
  const { contextBridge, ipcRenderer } = require('electron') as PreloadElectron;
  contextBridge.exposeInMainWorld('orchard', createOrchardApi(ipcRenderer));
}
