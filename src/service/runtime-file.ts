/**
 * service.json in ORCHARD_HOME: where the running service listens, so admin CLI commands find
 * it even when it took a free port (--port 0).
 */
import fs from 'node:fs';
import path from 'node:path';

export const RUNTIME_FILE = 'service.json';

export interface RuntimeInfo {
  pid: number;
  baseUrl: string;
  apiUrl: string;
  startedAt: string;
}

export function writeRuntimeFile(home: string, info: RuntimeInfo): void {
  fs.writeFileSync(path.join(home, RUNTIME_FILE), JSON.stringify(info, null, 2) + '\n', {
    mode: 0o600,
  });
}

export function removeRuntimeFile(home: string, pid = process.pid): void {
  const info = readRuntimeFile(home);
  if (info && info.pid === pid) fs.rmSync(path.join(home, RUNTIME_FILE), { force: true });
}

/** True while a process with this pid exists (EPERM: it exists, owned by another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The running service's info, or null when none is recorded or its process is gone. */
export function readRuntimeFile(home: string): RuntimeInfo | null {
  try {
    const info = JSON.parse(fs.readFileSync(path.join(home, RUNTIME_FILE), 'utf8')) as RuntimeInfo;
    return typeof info.pid === 'number' && processAlive(info.pid) ? info : null;
  } catch {
    return null;
  }
}
