import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HomeInUseError, LOCK_FILE, lockHome } from '../../../src/service/home-lock.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-lock-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('home lock', () => {
  it('holds the home once per process, and again after release', () => {
    const lock = lockHome(home);
    expect(fs.readFileSync(path.join(home, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    expect(() => lockHome(home)).toThrow(HomeInUseError);
    lock.release();
    expect(fs.existsSync(path.join(home, LOCK_FILE))).toBe(false);
    lockHome(home).release();
  });

  it('refuses a home whose lock belongs to a live process, naming it', () => {
    const other = spawn('sleep', ['30']);
    try {
      fs.writeFileSync(path.join(home, LOCK_FILE), `${other.pid}\n`);
      expect(() => lockHome(home)).toThrow(
        new RegExp(`another Orchard service \\(pid ${other.pid}`),
      );
      expect(fs.readFileSync(path.join(home, LOCK_FILE), 'utf8').trim()).toBe(String(other.pid));
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock left by a process that died', () => {
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], {
      encoding: 'utf8',
    });
    fs.writeFileSync(path.join(home, LOCK_FILE), dead.stdout);
    const lock = lockHome(home);
    expect(fs.readFileSync(path.join(home, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });
});
