/**
 * The API key: taken from the apiKey setting (ORCHARD_API_KEY) when set, otherwise created on
 * first run in ORCHARD_HOME with owner-only permissions and reused afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const API_KEY_FILE = 'api-key';

export interface ApiKeyInfo {
  key: string;
  /** Where it came from: the setting, or the file in ORCHARD_HOME. */
  source: 'setting' | 'file';
  file: string | null;
  created: boolean;
}

export function generateApiKey(): string {
  return 'orch-' + crypto.randomBytes(24).toString('base64url');
}

export function ensureHome(home: string): void {
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
}

/** Reads the key file, or returns null when there is none yet. */
export function readApiKeyFile(home: string): string | null {
  try {
    const key = fs.readFileSync(path.join(home, API_KEY_FILE), 'utf8').trim();
    return key === '' ? null : key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function loadOrCreateApiKey(home: string, fromSetting: string): ApiKeyInfo {
  if (fromSetting !== '')
    return { key: fromSetting, source: 'setting', file: null, created: false };
  ensureHome(home);
  const file = path.join(home, API_KEY_FILE);
  const existing = readApiKeyFile(home);
  if (existing !== null) {
    tightenMode(file);
    return { key: existing, source: 'file', file, created: false };
  }
  const key = generateApiKey();
  try {
    // 'wx' so two processes starting at once cannot overwrite each other's key.
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const other = readApiKeyFile(home);
    if (other !== null) return { key: other, source: 'file', file, created: false };
    throw err;
  }
  return { key, source: 'file', file, created: true };
}

/** A key file someone made world-readable is narrowed back to its owner. */
function tightenMode(file: string): void {
  if (process.platform === 'win32') return;
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
}
