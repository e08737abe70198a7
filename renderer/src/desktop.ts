/**
 * The Electron preload bridge (`window.orchard`), present only in the desktop window. Its type
 * comes from the preload object itself (electron/preload/api-types.ts); in a plain browser the
 * bridge is absent and desktop-only controls are not shown.
 */
import type { OrchardApi } from '../../electron/preload/api-types.js';

export type DesktopBridge = OrchardApi;

export function desktopBridge(): DesktopBridge | null {
  return window.orchard ?? null;
}
