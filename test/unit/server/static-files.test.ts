import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentType, resolveStatic } from '../../../src/server/static-files.js';

let root: string;
let outside: string;
beforeAll(() => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-static-'));
  root = path.join(base, 'dist');
  fs.mkdirSync(path.join(root, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(root, 'index.html'), '<html></html>');
  fs.writeFileSync(path.join(root, 'assets', 'app.js'), 'x');
  outside = path.join(base, 'secret.txt');
  fs.writeFileSync(outside, 'secret');
  fs.symlinkSync(outside, path.join(root, 'link.txt'));
});
afterAll(() => fs.rmSync(path.dirname(root), { recursive: true, force: true }));

describe('resolveStatic', () => {
  it('finds files inside the folder', () => {
    expect(resolveStatic(root, '/assets/app.js')).toBe(
      fs.realpathSync(path.join(root, 'assets', 'app.js')),
    );
    expect(resolveStatic(root, '/index.html')).not.toBeNull();
  });

  it('never leaves the folder', () => {
    for (const p of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets%5c..%5c..%5csecret.txt',
      '/link.txt',
      '/index.html%00.js',
      '/%E0%A4%A',
      '/assets',
      '/missing.js',
    ]) {
      expect(resolveStatic(root, p), p).toBeNull();
    }
  });

  it('knows content types', () => {
    expect(contentType('a.js')).toMatch(/javascript/);
    expect(contentType('a.css')).toMatch(/css/);
    expect(contentType('a.unknown')).toBe('application/octet-stream');
  });
});
