/**
 * Resolves every setting from its four sources — CLI flag > ORCHARD_* environment >
 * settings.json in ORCHARD_HOME > default — and remembers where each value came from, so
 * `orchard config`, `/api/settings` and the UI can show it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SettingView } from '../shared/admin-api.js';
import {
  SETTINGS,
  describeSetting,
  envName,
  flagName,
  parseSetting,
  settingNames,
  type SettingName,
  type SettingSource,
  type Settings,
} from '../shared/settings.js';

/** A setting has a value that cannot be used; the CLI prints the message and exits with 2. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

export interface ResolvedSettings {
  settings: Settings;
  sources: Record<SettingName, SettingSource>;
  /** The settings file that was read, or null when there is none. */
  file: string | null;
}

export interface ResolveInput {
  /** Raw flag values (strings from the CLI, or already typed values); undefined = not given. */
  flags?: Partial<Record<SettingName, unknown>>;
  env?: NodeJS.ProcessEnv;
}

export const SETTINGS_FILE = 'settings.json';

function readSettingsFile(home: string): { file: string | null; values: Record<string, unknown> } {
  const file = path.join(home, SETTINGS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file: null, values: {} };
    throw new SettingsError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SettingsError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError(`${file} must hold a JSON object of settings`);
  }
  const known = new Set<string>(settingNames());
  for (const key of Object.keys(parsed)) {
    if (!known.has(key)) {
      throw new SettingsError(
        `${file}: unknown setting '${key}' (run \`orchard config\` for the list)`,
      );
    }
    if (key === 'home') {
      throw new SettingsError(`${file}: 'home' cannot be set inside the home folder's own file`);
    }
  }
  return { file, values: parsed as Record<string, unknown> };
}

export function resolveSettings(input: ResolveInput = {}): ResolvedSettings {
  const flags = input.flags ?? {};
  const env = input.env ?? process.env;
  const out: Record<string, unknown> = {};
  const sources = {} as Record<SettingName, SettingSource>;

  const pick = (name: SettingName, fileValues: Record<string, unknown>): void => {
    const candidates: Array<[SettingSource, unknown, string]> = [
      ['flag', flags[name], flagName(name)],
      ['env', env[envName(name)], envName(name)],
      ['file', fileValues[name], `settings.json (${name})`],
    ];
    for (const [source, raw, where] of candidates) {
      if (raw === undefined) continue;
      try {
        out[name] = parseSetting(name, raw);
      } catch (err) {
        throw new SettingsError(`invalid value from ${where}: ${(err as Error).message}`);
      }
      sources[name] = source;
      return;
    }
    out[name] = SETTINGS[name].default();
    sources[name] = 'default';
  };

  // The home folder holds the settings file, so it is resolved first and never from the file.
  pick('home', {});
  const home = path.resolve(out.home as string);
  out.home = home;
  const { file, values } = readSettingsFile(home);
  for (const name of settingNames()) if (name !== 'home') pick(name, values);
  return { settings: out as Settings, sources, file };
}

/** Settings whose values are secrets and are never shown. */
const SECRET: ReadonlySet<SettingName> = new Set<SettingName>(['apiKey']);

export function redactedValue(name: SettingName, value: unknown): unknown {
  if (!SECRET.has(name)) return value;
  return value === '' ? '' : '(set)';
}

export function settingViews(resolved: ResolvedSettings): SettingView[] {
  return settingNames().map((name) => {
    const d = describeSetting(name);
    return {
      name,
      env: envName(name),
      flag: flagName(name),
      value: redactedValue(name, resolved.settings[name]),
      source: resolved.sources[name],
      description: d.description,
      ...(d.choices ? { choices: d.choices } : {}),
    };
  });
}

/** Resolved settings from plain values (tests, embedders): every value counts as a flag. */
export function settingsFrom(
  values: Partial<Settings>,
  env: NodeJS.ProcessEnv = {},
): ResolvedSettings {
  return resolveSettings({ flags: values, env });
}
