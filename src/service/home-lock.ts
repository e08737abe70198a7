/**
 * One service per ORCHARD_HOME. Two processes writing the same registry, model store and
 * runtime file would race (SQLite itself stays consistent, but blue-green swaps, downloads into
 * the same partial files and service.json would not), so the second one stops with a clear
 * message naming the first. The lock is a file holding the owner's pid, created with O_EXCL; a
 * lock left by a process that died (SIGKILL, power cut) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { processAlive, readRuntimeFile } from './runtime-file.js';
import { SettingsError } from './settings-loader.js';

export const LOCK_FILE = 'service.lock';

export class HomeInUseError extends SettingsError {
  constructor(
    readonly home: string,
    readonly pid: number,
    where: string | null,
  ) {
    super(
      `another Orchard service (pid ${pid}${where ? `, ${where}` : ''}) is using ${home}; ` +
        `stop it first, or give this one its own --home`,
    );
    this.name = 'HomeInUseError';
  }
}

/** Homes this process holds, so a stopped service's lock is not mistaken for a live other one. */
const held = new Set<string>();

function ownerOf(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export interface HomeLock {
  release(): void;
}

export function lockHome(home: string): HomeLock {
  const dir = path.resolve(home);
  const file = path.join(dir, LOCK_FILE);
  if (held.has(dir)) throw new HomeInUseError(dir, process.pid, 'in this process');
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw err;
      const pid = ownerOf(file);
      if (pid !== null && pid !== process.pid && processAlive(pid)) {
        const running = readRuntimeFile(dir);
        throw new HomeInUseError(dir, pid, running?.pid === pid ? running.baseUrl : null);
      }
      // Stale: its owner is gone (or was this process, before a restart in-process).
      fs.rmSync(file, { force: true });
    }
  }
  held.add(dir);
  const releaseOnExit = (): void => release();
  function release(): void {
    if (!held.delete(dir)) return;
    process.off('exit', releaseOnExit);
    if (ownerOf(file) === process.pid) fs.rmSync(file, { force: true });
  }
  process.on('exit', releaseOnExit);
  return { release };
}
