/**
 * The one IPC contract between the Electron main process and the preload script: each channel
 * with its arguments and result. Main registers exactly these handlers (checked by a test), the
 * preload builds `window.orchard` from these types, and the renderer's type is derived from the
 * preload object (electron/preload/api-types.ts), so the three can never drift apart.
 *
 * The preload only imports types from here: a sandboxed preload may not `require` local files.
 */
import type { ServiceState } from '../../src/shared/service-messages.js';

/** The service's own states plus `crashed`: it died and a restart is scheduled. */
export type ShellServiceState = ServiceState | 'crashed';

/** What the renderer may know about the supervised service (no sign-in token). */
export interface ServiceView {
  state: ShellServiceState;
  /** e.g. http://127.0.0.1:11435/v1, once the service said so. */
  apiUrl: string | null;
  /** What is served, e.g. ["orchard-chat → orchard-chat@1"]. */
  serving: string[];
  lastError: string | null;
  /** A problem reported while serving, e.g. a model that did not load. */
  warning: string | null;
  /** Restarts after crashes since the shell started. */
  restarts: number;
  /** Epoch ms of the next restart attempt while `crashed`. */
  nextRestartAt: number | null;
}

export interface AppInfo {
  name: string;
  version: string;
  platform: string;
  /** Electron's version. */
  electron: string | null;
  /** ORCHARD_HOME: registry, models, API key, logs. */
  dataFolder: string;
}

export interface LoginItemView {
  openAtLogin: boolean;
  /** False where the platform offers no way to do it. */
  supported: boolean;
}

/** The desktop shell's own preferences (the service's settings live in src/shared/settings.ts). */
export interface DesktopPrefs {
  /** Closing the window keeps the server running in the tray. */
  keepServingOnClose: boolean;
}

/** Renderer → main request/response channels (ipcRenderer.invoke / ipcMain.handle). */
export interface IpcInvokeContract {
  'app:info': { args: []; result: AppInfo };
  'login-item:get': { args: []; result: LoginItemView };
  'login-item:set': { args: [openAtLogin: boolean]; result: LoginItemView };
  'folder:open-data': { args: []; result: void };
  'folder:reveal-logs': { args: []; result: void };
  'service:get': { args: []; result: ServiceView };
  'service:start': { args: []; result: void };
  'service:stop': { args: []; result: void };
  'service:restart': { args: []; result: void };
  'prefs:get': { args: []; result: DesktopPrefs };
  'prefs:set': { args: [patch: Partial<DesktopPrefs>]; result: DesktopPrefs };
}

/** Main → renderer notifications (webContents.send / ipcRenderer.on). */
export interface IpcEventContract {
  'service:changed': ServiceView;
  'login-item:changed': LoginItemView;
  'prefs:changed': DesktopPrefs;
}

export type InvokeChannel = keyof IpcInvokeContract;
export type EventChannel = keyof IpcEventContract;
export type InvokeArgs<C extends InvokeChannel> = IpcInvokeContract[C]['args'];
export type InvokeResult<C extends InvokeChannel> = IpcInvokeContract[C]['result'];

const noArgs = (args: readonly unknown[]): boolean => args.length === 0;

/**
 * Run-time checks of what the renderer sent, one per channel. `satisfies` makes a missing or
 * extra channel a compile error, so this doubles as the list of channels main must handle.
 */
export const INVOKE_ARG_CHECKS = {
  'app:info': noArgs,
  'login-item:get': noArgs,
  'login-item:set': (args) => args.length === 1 && typeof args[0] === 'boolean',
  'folder:open-data': noArgs,
  'folder:reveal-logs': noArgs,
  'service:get': noArgs,
  'service:start': noArgs,
  'service:stop': noArgs,
  'service:restart': noArgs,
  'prefs:get': noArgs,
  'prefs:set': (args) => args.length === 1 && isPrefsPatch(args[0]),
} satisfies Record<InvokeChannel, (args: readonly unknown[]) => boolean>;

export const INVOKE_CHANNELS = Object.keys(INVOKE_ARG_CHECKS) as InvokeChannel[];

export const EVENT_CHANNELS = Object.keys({
  'service:changed': true,
  'login-item:changed': true,
  'prefs:changed': true,
} satisfies Record<EventChannel, true>) as EventChannel[];

const PREF_KEYS: Record<keyof DesktopPrefs, 'boolean'> = { keepServingOnClose: 'boolean' };

export function isPrefsPatch(v: unknown): v is Partial<DesktopPrefs> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return Object.entries(v).every(
    ([k, val]) => Object.hasOwn(PREF_KEYS, k) && typeof val === PREF_KEYS[k as keyof DesktopPrefs],
  );
}
