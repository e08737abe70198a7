import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_KEY_FILE, loadOrCreateApiKey } from '../../../src/service/api-key.js';

let home: string;
beforeEach(() => {
  home = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-key-')), 'home');
});
afterEach(() => fs.rmSync(path.dirname(home), { recursive: true, force: true }));

describe('loadOrCreateApiKey', () => {
  it('creates a key once, owner-only, and reuses it', () => {
    const first = loadOrCreateApiKey(home, '');
    expect(first.created).toBe(true);
    expect(first.key).toMatch(/^orch-[A-Za-z0-9_-]{32}$/);
    const file = path.join(home, API_KEY_FILE);
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const second = loadOrCreateApiKey(home, '');
    expect(second.created).toBe(false);
    expect(second.key).toBe(first.key);
  });

  it('prefers the setting and writes nothing', () => {
    const info = loadOrCreateApiKey(home, 'from-env');
    expect(info).toMatchObject({ key: 'from-env', source: 'setting', created: false });
    expect(fs.existsSync(path.join(home, API_KEY_FILE))).toBe(false);
  });

  it('narrows a world-readable key file', () => {
    if (process.platform === 'win32') return;
    loadOrCreateApiKey(home, '');
    const file = path.join(home, API_KEY_FILE);
    fs.chmodSync(file, 0o644);
    loadOrCreateApiKey(home, '');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});
