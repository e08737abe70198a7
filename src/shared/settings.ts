/**
 * Every setting Orchard has, in one list: name, type, default, env var, CLI flag, description.
 * The CLI (`orchard config`), the environment (`ORCHARD_*`), the settings file in ORCHARD_HOME
 * and the UI all read this list, so they can never disagree.
 * Resolution order: CLI flag > environment > settings file > default.
 */
import os from 'node:os';
import path from 'node:path';

type Kind = 'string' | 'integer' | 'number' | 'boolean' | 'list';

interface SettingSpec<K extends Kind = Kind> {
  kind: K;
  description: string;
  /** A function so that defaults depending on the machine are computed when asked. */
  default: () => KindValue<K>;
  min?: number;
  max?: number;
  choices?: readonly string[];
}

type KindValue<K extends Kind> = K extends 'string'
  ? string
  : K extends 'integer' | 'number'
    ? number
    : K extends 'boolean'
      ? boolean
      : string[];

function spec<K extends Kind>(s: SettingSpec<K>): SettingSpec<K> {
  return s;
}

/** The OS's per-user application data folder. */
export function defaultHome(): string {
  const home = os.homedir();
  if (process.platform === 'win32') {
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Orchard');
  }
  if (process.platform === 'darwin') {
    return path.join(home, 'Library', 'Application Support', 'Orchard');
  }
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'orchard');
}

export const SETTINGS = {
  home: spec({
    kind: 'string',
    description: 'Folder for the registry, models, API key, logs and settings file.',
    default: defaultHome,
  }),
  host: spec({
    kind: 'string',
    description: 'Address to bind. Non-loopback addresses require an API key.',
    default: () => '127.0.0.1',
  }),
  port: spec({
    kind: 'integer',
    description: 'TCP port to listen on; 0 takes a free port.',
    default: () => 11435,
    min: 0,
    max: 65535,
  }),
  auth: spec({
    kind: 'boolean',
    description: 'Require the API key on every route but /health (turn off only on loopback).',
    default: () => true,
  }),
  apiKey: spec({
    kind: 'string',
    description: 'API key; when empty, one is created on first run and kept in ORCHARD_HOME.',
    default: () => '',
  }),
  corsOrigins: spec({
    kind: 'list',
    description: 'Browser origins allowed to call the API (comma-separated); empty means none.',
    default: () => [],
  }),
  allowedHosts: spec({
    kind: 'list',
    description: 'Extra Host header names accepted besides localhost names and the bound address.',
    default: () => [],
  }),
  model: spec({
    kind: 'string',
    description: 'Deployment, model@version or model folder served by default.',
    default: () => 'orchard-chat',
  }),
  device: spec({
    kind: 'string',
    description: 'ONNX Runtime execution provider; auto picks the best available, else CPU.',
    default: () => 'auto',
    choices: ['auto', 'cpu', 'cuda', 'dml', 'coreml', 'webgpu'],
  }),
  threads: spec({
    kind: 'integer',
    description: 'ONNX Runtime threads per model, split between its replicas; 0 uses every core.',
    default: () => 0,
    min: 0,
    max: 256,
  }),
  replicas: spec({
    kind: 'integer',
    description:
      'Engine copies per model, each with its own threads and share of the KV cache; 0 = auto (2 for a small model on a CPU with 2+ threads).',
    default: () => 0,
    min: 0,
    max: 64,
  }),
  kvCacheMb: spec({
    kind: 'integer',
    description: 'KV cache memory per loaded model version, MiB.',
    default: () => 256,
    min: 1,
    max: 1_048_576,
  }),
  blockSize: spec({
    kind: 'integer',
    description: 'Tokens per KV cache block.',
    default: () => 16,
    min: 1,
    max: 1024,
  }),
  maxRunning: spec({
    kind: 'integer',
    description: 'Most sequences decoded together in one engine step (per replica).',
    default: () => 64,
    min: 1,
    max: 4096,
  }),
  maxWaiting: spec({
    kind: 'integer',
    description:
      'Most requests waiting for a slot (per replica); beyond it on every replica, requests get 429.',
    default: () => 256,
    min: 0,
    max: 100_000,
  }),
  maxBatchTokens: spec({
    kind: 'integer',
    description:
      'Token budget of one engine step (per replica; decodes first, then prefill chunks).',
    default: () => 512,
    min: 1,
    max: 1_048_576,
  }),
  prefixCaching: spec({
    kind: 'boolean',
    description: 'Reuse KV blocks of identical prompt prefixes across requests.',
    default: () => true,
  }),
  speculative: spec({
    kind: 'string',
    description: 'Default speculative decoding: draft model, prompt lookup, or off.',
    default: () => 'off',
    choices: ['off', 'draft', 'lookup'],
  }),
  keepAlive: spec({
    kind: 'integer',
    description: 'Seconds an idle model version stays loaded; 0 keeps it loaded.',
    default: () => 0,
    min: 0,
    max: 31_536_000,
  }),
  maxLoaded: spec({
    kind: 'integer',
    description: 'Most model versions loaded at once; the least recently used is unloaded.',
    default: () => 3,
    min: 1,
    max: 64,
  }),
  memoryBudgetMb: spec({
    kind: 'integer',
    description: 'Memory for loaded versions (weights + KV), MiB; 0 means no limit.',
    default: () => 0,
    min: 0,
    max: 1_048_576,
  }),
  maxBodyBytes: spec({
    kind: 'integer',
    description: 'Largest request body accepted, bytes.',
    default: () => 4 * 1024 * 1024,
    min: 1024,
    max: 1024 * 1024 * 1024,
  }),
  shutdownGraceMs: spec({
    kind: 'integer',
    description: 'On SIGINT/SIGTERM, how long in-flight streams may finish before being cancelled.',
    default: () => 10_000,
    min: 0,
    max: 600_000,
  }),
  logLevel: spec({
    kind: 'string',
    description: 'Log level.',
    default: () => 'info',
    choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type Settings = { [N in SettingName]: KindValue<(typeof SETTINGS)[N]['kind']> };
export type SettingSource = 'flag' | 'env' | 'file' | 'default';

/** ORCHARD_KV_CACHE_MB for kvCacheMb. */
export function envName(name: SettingName): string {
  return 'ORCHARD_' + name.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** --kv-cache-mb for kvCacheMb. */
export function flagName(name: SettingName): string {
  return '--' + name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function settingNames(): SettingName[] {
  return Object.keys(SETTINGS) as SettingName[];
}

export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const name of settingNames()) out[name] = SETTINGS[name].default();
  return out as Settings;
}

/**
 * Parses and checks one raw value (from env, flag or file). Throws an Error whose message
 * names the setting and what is allowed.
 */
export function parseSetting(name: SettingName, raw: unknown): Settings[SettingName] {
  const s: SettingSpec = SETTINGS[name];
  const where = `setting ${name} (${envName(name)}, ${flagName(name)})`;
  switch (s.kind) {
    case 'string': {
      if (typeof raw !== 'string') throw new Error(`${where} must be a string`);
      if (s.choices && !s.choices.includes(raw)) {
        throw new Error(`${where} must be one of ${s.choices.join(', ')}; got '${raw}'`);
      }
      return raw;
    }
    case 'integer':
    case 'number': {
      const n =
        typeof raw === 'number'
          ? raw
          : typeof raw === 'string' && raw.trim() !== ''
            ? Number(raw)
            : NaN;
      if (!Number.isFinite(n) || (s.kind === 'integer' && !Number.isInteger(n))) {
        throw new Error(
          `${where} must be ${s.kind === 'integer' ? 'a whole number' : 'a number'}; got '${String(raw)}'`,
        );
      }
      if ((s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
        throw new Error(`${where} must be between ${s.min} and ${s.max}; got ${n}`);
      }
      return n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw)) return true;
      if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw)) return false;
      throw new Error(`${where} must be true or false; got '${String(raw)}'`);
    }
    case 'list': {
      if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) return raw as string[];
      if (typeof raw === 'string')
        return raw
          .split(',')
          .map((v) => v.trim())
          .filter(Boolean);
      throw new Error(`${where} must be a comma-separated list`);
    }
  }
}

export function describeSetting(name: SettingName): {
  description: string;
  kind: Kind;
  choices?: readonly string[];
} {
  const s: SettingSpec = SETTINGS[name];
  return { description: s.description, kind: s.kind, choices: s.choices };
}
