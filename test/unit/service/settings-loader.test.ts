import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SettingsError,
  resolveSettings,
  settingViews,
} from '../../../src/service/settings-loader.js';
import { settingNames } from '../../../src/shared/settings.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'orchard-settings-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

describe('resolveSettings', () => {
  it('uses defaults and says so', () => {
    const r = resolveSettings({ env: { ORCHARD_HOME: home } });
    expect(r.settings.port).toBe(11435);
    expect(r.sources.port).toBe('default');
    expect(r.sources.home).toBe('env');
    expect(r.file).toBeNull();
  });

  it('orders flag > env > file > default', () => {
    fs.writeFileSync(
      path.join(home, 'settings.json'),
      JSON.stringify({ port: 1111, threads: 3, logLevel: 'warn' }),
    );
    const r = resolveSettings({
      flags: { port: '3333' },
      env: { ORCHARD_HOME: home, ORCHARD_PORT: '2222', ORCHARD_THREADS: '5' },
    });
    expect(r.settings.port).toBe(3333);
    expect(r.sources.port).toBe('flag');
    expect(r.settings.threads).toBe(5);
    expect(r.sources.threads).toBe('env');
    expect(r.settings.logLevel).toBe('warn');
    expect(r.sources.logLevel).toBe('file');
    expect(r.file).toBe(path.join(home, 'settings.json'));
  });

  it('parses booleans and lists from strings', () => {
    const r = resolveSettings({
      flags: { auth: 'false', corsOrigins: 'https://a.example, https://b.example' },
      env: { ORCHARD_HOME: home, ORCHARD_PREFIX_CACHING: 'off' },
    });
    expect(r.settings.auth).toBe(false);
    expect(r.settings.prefixCaching).toBe(false);
    expect(r.settings.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it('names the source and the setting of a bad value', () => {
    expect(() =>
      resolveSettings({ flags: { port: '70000' }, env: { ORCHARD_HOME: home } }),
    ).toThrow(/--port.*between 0 and 65535/);
    expect(() => resolveSettings({ env: { ORCHARD_HOME: home, ORCHARD_DEVICE: 'tpu' } })).toThrow(
      /ORCHARD_DEVICE.*one of auto, cpu/,
    );
    try {
      resolveSettings({ flags: { threads: 'many' }, env: { ORCHARD_HOME: home } });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(SettingsError);
    }
  });

  it('rejects unknown keys and a broken settings file', () => {
    fs.writeFileSync(path.join(home, 'settings.json'), JSON.stringify({ colour: 'red' }));
    expect(() => resolveSettings({ env: { ORCHARD_HOME: home } })).toThrow(
      /unknown setting 'colour'/,
    );
    fs.writeFileSync(path.join(home, 'settings.json'), '{ nope');
    expect(() => resolveSettings({ env: { ORCHARD_HOME: home } })).toThrow(/not valid JSON/);
    fs.writeFileSync(path.join(home, 'settings.json'), JSON.stringify({ home: '/elsewhere' }));
    expect(() => resolveSettings({ env: { ORCHARD_HOME: home } })).toThrow(/'home' cannot be set/);
  });

  it('lists every setting for views, with the key redacted', () => {
    const r = resolveSettings({ flags: { apiKey: 'secret-key' }, env: { ORCHARD_HOME: home } });
    const views = settingViews(r);
    expect(views.map((v) => v.name)).toEqual(settingNames());
    const key = views.find((v) => v.name === 'apiKey');
    expect(key?.value).toBe('(set)');
    expect(JSON.stringify(views)).not.toContain('secret-key');
    expect(views.find((v) => v.name === 'device')?.choices).toContain('cpu');
    expect(views.find((v) => v.name === 'kvCacheMb')).toMatchObject({
      env: 'ORCHARD_KV_CACHE_MB',
      flag: '--kv-cache-mb',
    });
  });
});
