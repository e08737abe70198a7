/**
 * The plain model provider: serves one model folder — the shipped default
 * (resources/models/orchard-chat-1 as `orchard-chat`, served as `orchard-chat@1`) or a folder
 * given with --model. Loads eagerly at start so /ready means ready, reloads on demand after a
 * keep-alive unload, and unloads an idle engine when keep-alive says so.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Engine, EngineOptions, LoadProgress } from '../engine/types.js';
import { ModelNotFoundError, NotReadyError } from '../shared/errors.js';
import type { AcquireContext, ModelLease, ModelProvider, ServedModel } from './model-provider.js';
import { shippedModelsDir } from './paths.js';
import { SettingsError } from './settings-loader.js';
import { idlePlan } from '../shared/timer-limits.js';

export interface ModelSource {
  dir: string;
  /** What clients pass as `model`. */
  name: string;
  version: string;
}

export type EngineLoader = (
  dir: string,
  options: EngineOptions,
  onProgress?: (p: LoadProgress) => void,
) => Promise<Engine>;

function looksLikeModelFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json'));
}

/** `orchard-chat-1` → { name: 'orchard-chat', version: '1' }; other names get version 'local'. */
export function nameFromFolder(dir: string): { name: string; version: string } {
  const base = path.basename(path.resolve(dir));
  const m = /^(.+)-(\d+)$/.exec(base);
  return m ? { name: m[1], version: m[2] } : { name: base, version: 'local' };
}

/**
 * The model setting → a folder: a path to a model folder, `name@version` of a shipped model
 * (`name-version` in resources/models), or a bare shipped name (its lowest version).
 */
export function resolveModelSource(model: string, modelsDir = shippedModelsDir()): ModelSource {
  const asPath = path.resolve(model);
  if (/[\\/]/.test(model) || model.startsWith('.')) {
    if (!looksLikeModelFolder(asPath)) {
      throw new SettingsError(`--model ${model}: no model folder there (config.json is missing)`);
    }
    return { dir: asPath, ...nameFromFolder(asPath) };
  }
  const at = model.lastIndexOf('@');
  if (at > 0) {
    const name = model.slice(0, at);
    const version = model.slice(at + 1);
    const dir = path.join(modelsDir, `${name}-${version}`);
    if (looksLikeModelFolder(dir)) return { dir, name, version };
  } else {
    const versions = (fs.existsSync(modelsDir) ? fs.readdirSync(modelsDir) : [])
      .map((f) => ({
        f,
        m: new RegExp(`^${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(f),
      }))
      .filter((x) => x.m !== null && looksLikeModelFolder(path.join(modelsDir, x.f)))
      .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
    if (versions.length > 0) {
      return { dir: path.join(modelsDir, versions[0].f), name: model, version: versions[0].m![1] };
    }
    if (looksLikeModelFolder(path.join(modelsDir, model))) {
      return { dir: path.join(modelsDir, model), name: model, version: '1' };
    }
  }
  if (looksLikeModelFolder(asPath)) return { dir: asPath, ...nameFromFolder(asPath) };
  throw new SettingsError(
    `--model ${model}: not a shipped model in ${modelsDir} and not a model folder`,
  );
}

export interface BundledProviderOptions {
  source: ModelSource;
  engineOptions: EngineOptions;
  load: EngineLoader;
  logger: Logger;
  /** Idle time before unloading, ms; 0 keeps the model loaded (the keepAlive setting). */
  keepAliveMs: number;
  /**
   * After a failed load, requests get the error at once for this long (ms); the next request
   * after it tries again (a transient failure, e.g. memory, must not need a restart).
   */
  loadRetryMs?: number;
}

const LOAD_RETRY_MS = 10_000;

export class BundledProvider implements ModelProvider {
  private engine: Engine | null = null;
  private loading: Promise<Engine> | null = null;
  private loadError: { error: Error; at: number } | null = null;
  private active = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly created = Math.floor(Date.now() / 1000);
  readonly servedName: string;

  constructor(private readonly options: BundledProviderOptions) {
    this.servedName = `${options.source.name}@${options.source.version}`;
  }

  get source(): ModelSource {
    return this.options.source;
  }

  /** Eager load; resolves when the model answers, rejects when it cannot load. */
  async start(): Promise<void> {
    await this.ensureLoaded();
  }

  listModels(): ServedModel[] {
    return [{ id: this.options.source.name, created: this.created, ownedBy: 'orchard' }];
  }

  private knows(model: string): boolean {
    return model === this.options.source.name || model === this.servedName;
  }

  async acquire(model: string, context: AcquireContext): Promise<ModelLease> {
    if (!this.knows(model)) throw new ModelNotFoundError(model);
    if (this.closed) throw new NotReadyError('The server is shutting down.');
    this.active++;
    this.clearIdleTimer();
    let engine: Engine;
    try {
      engine = await this.ensureLoaded();
    } catch (err) {
      this.release(context.keepAliveMs);
      throw err;
    }
    let done = false;
    return {
      engine,
      servedName: this.servedName,
      done: () => {
        if (done) return;
        done = true;
        this.release(context.keepAliveMs);
      },
      mirror: () => undefined,
    };
  }

  isReady(): boolean {
    return this.engine !== null && !this.closed;
  }

  loaded(): Array<{ name: string; model: string; version: string; engine: Engine }> {
    if (!this.engine) return [];
    return [
      {
        name: this.servedName,
        model: this.options.source.name,
        version: this.options.source.version,
        engine: this.engine,
      },
    ];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.clearIdleTimer();
    const engine = this.engine ?? (await this.loading?.catch(() => null)) ?? null;
    this.engine = null;
    if (engine) await engine.unload();
  }

  private ensureLoaded(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    if (this.loadError) {
      const retryMs = this.options.loadRetryMs ?? LOAD_RETRY_MS;
      if (Date.now() - this.loadError.at < retryMs) {
        return Promise.reject(
          new NotReadyError(
            `The model ${this.servedName} failed to load: ${this.loadError.error.message}`,
          ),
        );
      }
      this.loadError = null;
    }
    if (!this.loading) {
      const { source, engineOptions, load, logger } = this.options;
      logger.info({ model: this.servedName, dir: source.dir }, 'loading model');
      const started = Date.now();
      let lastStage = '';
      this.loading = load(source.dir, engineOptions, (p) => {
        if (p.stage !== lastStage) {
          lastStage = p.stage;
          logger.debug({ model: this.servedName, stage: p.stage }, 'loading');
        }
      }).then(
        async (engine) => {
          this.loading = null;
          if (this.closed) {
            await engine.unload();
            throw new NotReadyError('The server is shutting down.');
          }
          this.engine = engine;
          logger.info(
            {
              model: this.servedName,
              ms: Date.now() - started,
              device: engine.info.executionProvider,
              context: engine.info.contextLength,
            },
            'model loaded',
          );
          return engine;
        },
        (err: Error) => {
          this.loading = null;
          this.loadError = { error: err, at: Date.now() };
          logger.error({ model: this.servedName, err }, 'model failed to load');
          throw new NotReadyError(`The model ${this.servedName} failed to load: ${err.message}`);
        },
      );
    }
    return this.loading;
  }

  /** Ollama's keep_alive: negative keeps it loaded, 0 unloads right away, else after idling. */
  private release(requestKeepAliveMs: number | undefined): void {
    this.active--;
    if (this.active > 0 || this.closed || !this.engine) return;
    const plan = idlePlan(requestKeepAliveMs, this.options.keepAliveMs);
    if (plan.kind === 'keep-loaded') return;
    this.clearIdleTimer();
    this.idleTimer = setTimeout(
      () => void this.unloadIdle(),
      plan.kind === 'unload-after' ? plan.ms : 0,
    );
    this.idleTimer.unref();
  }

  private async unloadIdle(): Promise<void> {
    this.idleTimer = null;
    if (this.active > 0 || !this.engine) return;
    const engine = this.engine;
    this.engine = null;
    this.options.logger.info({ model: this.servedName }, 'unloading idle model (keep-alive)');
    await engine.unload();
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}
