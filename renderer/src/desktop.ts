/**
 * The Electron preload bridge (`window.orchard`), present only in the desktop window. Every
 * member is optional and checked before use, so the same UI runs in a plain browser.
 */
export interface DesktopBridge {
  appVersion?: () => Promise<string>;
  getStartAtLogin?: () => Promise<boolean>;
  setStartAtLogin?: (enabled: boolean) => Promise<unknown>;
  openDataFolder?: () => Promise<unknown>;
  revealLogs?: () => Promise<unknown>;
}

export function desktopBridge(): DesktopBridge | null {
  const w = window as unknown as { orchard?: unknown };
  return typeof w.orchard === 'object' && w.orchard !== null ? (w.orchard as DesktopBridge) : null;
}
