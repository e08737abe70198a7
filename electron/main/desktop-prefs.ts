/**
 * The desktop shell's own preferences, kept in ORCHARD_HOME/desktop.json. They concern only the
 * window and tray (the service never reads them), so they stay out of the service's settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isPrefsPatch, type DesktopPrefs } from '../shared/ipc-contract.js';

export const DESKTOP_PREFS_FILE = 'desktop.json';

export const DEFAULT_DESKTOP_PREFS: DesktopPrefs = { keepServingOnClose: true };

export class DesktopPrefsStore {
  private prefs: DesktopPrefs;
  private readonly listeners = new Set<(p: DesktopPrefs) => void>();

  constructor(private readonly home: string) {
    this.prefs = { ...DEFAULT_DESKTOP_PREFS, ...readPrefs(this.file) };
  }

  get file(): string {
    return path.join(this.home, DESKTOP_PREFS_FILE);
  }

  get(): DesktopPrefs {
    return { ...this.prefs };
  }

  set(patch: Partial<DesktopPrefs>): DesktopPrefs {
    if (!isPrefsPatch(patch)) throw new TypeError('not a desktop preferences patch');
    this.prefs = { ...this.prefs, ...patch };
    fs.mkdirSync(this.home, { recursive: true });
    // Write-then-rename so a crash mid-write never leaves half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.prefs, null, 2) + '\n');
    fs.renameSync(tmp, this.file);
    for (const l of [...this.listeners]) l(this.get());
    return this.get();
  }

  subscribe(listener: (p: DesktopPrefs) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** A missing or unreadable file means defaults: preferences must never stop the app starting. */
function readPrefs(file: string): Partial<DesktopPrefs> {
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return {};
    const known: Partial<DesktopPrefs> = {};
    const v = (parsed as Record<string, unknown>).keepServingOnClose;
    if (typeof v === 'boolean') known.keepServingOnClose = v;
    return known;
  } catch {
    return {};
  }
}
