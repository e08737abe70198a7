/** Temp ORCHARD_HOMEs and model folder copies for the registry tests. */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const SHIPPED_DIR = path.join(ROOT, 'resources/models');
export const CHAT_1 = path.join(SHIPPED_DIR, 'orchard-chat-1');

export async function tempDir(prefix = 'orchard-reg-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

/** A writable copy of a shipped model folder, to damage or rename in tests. */
export async function copyModel(src = CHAT_1, parent?: string): Promise<string> {
  const dir = path.join(parent ?? (await tempDir('orchard-model-')), path.basename(src));
  await fs.cp(src, dir, { recursive: true });
  return dir;
}

export async function rmrf(...dirs: string[]): Promise<void> {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir)).sort();
  } catch {
    return [];
  }
}
