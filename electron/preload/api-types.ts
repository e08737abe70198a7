/**
 * Types for the renderer: `window.orchard` as the preload builds it. Derived from the preload
 * object itself, never written by hand, so the UI cannot call what the preload does not offer.
 * `window.orchard` is undefined when the UI runs in a plain browser (`orchard serve`).
 */
import type { OrchardApi } from './preload.cjs';

export type { OrchardApi };
export type {
  AppInfo,
  DesktopPrefs,
  LoginItemView,
  ServiceView,
  ShellServiceState,
} from '../shared/ipc-contract.js';

declare global {
  interface Window {
    orchard?: OrchardApi;
  }
}
