/**
 * Everything behind deployments, wired once per service: the registry, the lifecycle manager,
 * rollouts, shadows, metrics history, jobs and the ModelProvider the HTTP routes use. The admin
 * routes call the operations here; the service picks `provider` in its one provider choice.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import { engineOptionsFromSettings, type EngineSettings } from '../engine/engine-options.js';
import { sessionsAtMost } from '../engine/engine-replicas.js';
import { parseSpeculativeMode } from '../engine/speculative/speculator.js';
import type { EngineOptions } from '../engine/types.js';
import { importFolder } from '../registry/importer.js';
import { JobTracker } from '../registry/jobs.js';
import { hubConfigFromEnv, type HubConfig } from '../registry/hub/hub-api.js';
import { pullModel } from '../registry/hub/pull.js';
import { MINUTE_MS, toMetricsBucket } from '../registry/metrics-repo.js';
import { MetricsRecorder } from '../registry/metrics-recorder.js';
import { describeArchitecture } from '../registry/model-folder.js';
import type { VersionRecord } from '../registry/records.js';
import { Registry } from '../registry/registry.js';
import { ensureShippedModels } from '../registry/shipped-models.js';
import { RegistryProvider } from '../service/registry-provider.js';
import type {
  ImportRequest,
  JobSummary,
  LoadedVersionDetail,
  MetricsBucket,
  ModelSummary,
  PullRequest,
  RolloutEvent,
  VersionSummary,
} from '../shared/admin-api.js';
import { ConflictError } from '../shared/errors.js';
import type { Settings } from '../shared/settings.js';
import { LifecycleManager, type Clock, type EngineLoader, type LoadTarget } from './lifecycle.js';
import type { RandomSource } from './router.js';
import { RolloutController } from './rollouts.js';
import { ShadowRunner } from './shadow.js';
import type { WarmupResult } from './warmup.js';
import type { Engine } from '../engine/types.js';

export interface RegistryRuntimeOptions {
  settings: Pick<Settings, 'home' | 'model' | 'keepAlive' | 'maxLoaded' | 'memoryBudgetMb'> &
    EngineSettings;
  logger: Logger;
  load: EngineLoader;
  shippedModelsDir?: string;
  hub?: HubConfig;
  clock?: Clock;
  random?: RandomSource;
  warmUp?: (engine: Engine) => Promise<WarmupResult>;
}

/** The deployment whose stable version drafts tokens for speculative 'draft' decoding. */
export const DRAFT_DEPLOYMENT = 'orchard-draft';

export type RuntimeEvent =
  { event: 'job'; data: JobSummary } | { event: 'rollout'; data: RolloutEvent };

export class RegistryRuntime {
  readonly lifecycle: LifecycleManager;
  readonly rollouts: RolloutController;
  readonly shadows: ShadowRunner;
  readonly metrics: MetricsRecorder;
  readonly jobs = new JobTracker();
  readonly provider: RegistryProvider;
  readonly engineOptions: EngineOptions;
  readonly hub: HubConfig;
  private readonly listeners = new Set<(e: RuntimeEvent) => void>();
  private readonly pulls = new Set<AbortController>();
  private closed = false;

  private constructor(
    readonly registry: Registry,
    private readonly options: RegistryRuntimeOptions,
  ) {
    const s = options.settings;
    this.engineOptions = engineOptionsFromSettings(s);
    this.hub = options.hub ?? hubConfigFromEnv();
    this.lifecycle = new LifecycleManager({
      load: options.load,
      engineOptions: this.engineOptions,
      logger: options.logger,
      keepAliveMs: s.keepAlive * 1000,
      maxLoaded: s.maxLoaded,
      memoryBudgetBytes: s.memoryBudgetMb * 1024 * 1024,
      clock: options.clock,
    });
    const targetOf = (v: VersionRecord) => this.targetOf(v);
    this.rollouts = new RolloutController({
      registry,
      lifecycle: this.lifecycle,
      targetOf,
      logger: options.logger,
      warmUp: options.warmUp,
    });
    this.shadows = new ShadowRunner(this.lifecycle, options.logger);
    this.metrics = new MetricsRecorder(registry.metrics);
    this.provider = new RegistryProvider({
      registry,
      lifecycle: this.lifecycle,
      rollouts: this.rollouts,
      shadows: this.shadows,
      metrics: this.metrics,
      targetOf,
      logger: options.logger,
      defaultModel: s.model,
      random: options.random,
      onClose: () => this.finish(),
    });
    this.jobs.onChange((j) => this.emit({ event: 'job', data: j }));
    this.rollouts.onEvent((e) => this.emit({ event: 'rollout', data: e }));
  }

  /** Opens (and recovers) the registry and registers the shipped models on first run. */
  static async open(options: RegistryRuntimeOptions): Promise<RegistryRuntime> {
    const registry = await Registry.open({
      home: options.settings.home,
      shippedModelsDir: options.shippedModelsDir,
    });
    try {
      const shipped = await ensureShippedModels(registry);
      if (shipped.registered.length > 0)
        options.logger.info({ versions: shipped.registered }, 'registered the shipped models');
      if (shipped.refreshed.length > 0)
        options.logger.info(
          { versions: shipped.refreshed },
          'shipped model files changed; re-recorded',
        );
      if (shipped.missing.length > 0)
        options.logger.warn(
          { versions: shipped.missing },
          'shipped models missing from the app resources',
        );
    } catch (err) {
      registry.close();
      throw err;
    }
    const runtime = new RegistryRuntime(registry, options);
    runtime.metrics.start();
    return runtime;
  }

  onEvent(listener: (e: RuntimeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RuntimeEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // a broken subscriber must not break the registry
      }
    }
  }

  /**
   * How a version is loaded: its folder, its memory estimate and its engine options. The
   * speculative mode comes from the deployment serving it ('default' and pinned-only versions
   * use the speculative setting); 'draft' speculates with the stable version of the
   * `orchard-draft` deployment.
   */
  targetOf(v: VersionRecord): LoadTarget {
    const setting = this.options.settings.speculative ?? 'off';
    const modes = this.registry.deployments
      .usingVersion(v.id)
      .map((d) => (d.speculative === 'default' ? setting : d.speculative));
    const mode = parseSpeculativeMode(modes[0] ?? setting);
    const draft = mode === 'draft' ? this.draftVersion(v) : null;
    return {
      key: `${v.model}@${v.version}`,
      model: v.model,
      version: v.version,
      versionId: v.id,
      dir: this.registry.versionDir(v),
      memoryEstimateBytes: this.memoryEstimate(v.weightsBytes + (draft?.weightsBytes ?? 0)),
      engineOptions: {
        ...this.engineOptions,
        speculative: mode,
        draftModelDir: draft ? this.registry.versionDir(draft) : null,
      },
    };
  }

  /** Weights once per ONNX Runtime session (each loads its own), plus the KV budget. */
  private memoryEstimate(weightsBytes: number): number {
    const sessions = sessionsAtMost(this.engineOptions, weightsBytes, os.availableParallelism());
    return sessions * weightsBytes + this.engineOptions.kvCacheBytes;
  }

  /** The draft model for speculative decoding: what the orchard-draft deployment serves. */
  private draftVersion(v: VersionRecord): VersionRecord | null {
    const d = this.registry.deployments.find(DRAFT_DEPLOYMENT);
    if (!d || d.modelId === v.modelId) return null;
    return this.registry.versions.byId(d.stableVersionId);
  }

  versionSummary(v: VersionRecord): VersionSummary {
    return {
      model: v.model,
      version: v.version,
      state: v.state,
      source: v.source,
      digest: v.digest,
      sizeBytes: v.sizeBytes,
      architecture: describeArchitecture(v.architecture),
      numParams: v.numParams,
      contextLength: v.contextLength,
      memoryEstimateBytes: this.memoryEstimate(v.weightsBytes),
      createdAt: v.createdAt,
      loaded: this.lifecycle.isLoaded(`${v.model}@${v.version}`),
    };
  }

  models(): ModelSummary[] {
    const versions = this.registry.versions.list();
    return this.registry.versions.listModelNames().map((m) => ({
      name: m.name,
      createdAt: m.createdAt,
      versions: versions.filter((v) => v.modelId === m.id).map((v) => this.versionSummary(v)),
    }));
  }

  /** Imports synchronously (the HTTP call waits); the job carries progress for the UI. */
  async importModel(req: ImportRequest): Promise<VersionSummary> {
    const { done } = this.jobs.run(
      'import',
      `importing ${req.path}`,
      async (j) => {
        const v = await importFolder(this.registry, {
          path: req.path,
          name: req.name,
          version: req.version,
          onProgress: (p) =>
            j.progress(p.bytesDone, p.bytesTotal, `${p.stage}${p.file ? ` ${p.file}` : ''}`),
        });
        return this.versionSummary(v);
      },
      (v) => v,
    );
    return done;
  }

  /** Starts a pull in the background; follow it with GET /api/jobs/:id or SSE 'job' events. */
  pull(req: PullRequest): JobSummary {
    const controller = new AbortController();
    this.pulls.add(controller);
    const { job, done } = this.jobs.run(
      'pull',
      `pulling ${req.repo}`,
      async (j) => {
        try {
          const v = await pullModel(
            this.registry,
            this.hub,
            req,
            (p) => j.progress(p.bytesDone, p.bytesTotal, p.message),
            controller.signal,
          );
          return this.versionSummary(v);
        } finally {
          this.pulls.delete(controller);
        }
      },
      (v) => v,
    );
    done.catch((err: Error) =>
      this.options.logger.warn({ repo: req.repo, err: err.message }, 'pull failed'),
    );
    return { ...job.summary };
  }

  async loadVersion(model: string, version: string): Promise<VersionSummary> {
    const v = this.registry.versions.get(model, version);
    await this.lifecycle.load(this.targetOf(v));
    return this.versionSummary(v);
  }

  async unloadVersion(model: string, version: string): Promise<VersionSummary> {
    const v = this.registry.versions.get(model, version);
    await this.lifecycle.unload(this.targetOf(v).key);
    return this.versionSummary(v);
  }

  /** Marks the version deleted and removes its files unless another version shares them. */
  async deleteVersion(model: string, version: string): Promise<void> {
    const v = this.registry.versions.get(model, version);
    const refuseIfUsed = () => {
      const users = this.registry.deployments.usingVersion(v.id);
      if (users.length > 0) {
        throw new ConflictError(
          `${model}@${version} is in use by deployment(s) ${users.map((d) => d.name).join(', ')}; deploy or roll back another version first.`,
          'version',
        );
      }
    };
    refuseIfUsed();
    await this.lifecycle.unload(this.targetOf(v).key);
    // A deployment may have started using the version while it unloaded: check again, in the
    // same transaction that marks it deleted (deployments refuse versions that are not ready).
    this.registry.db.transaction(() => {
      refuseIfUsed();
      this.registry.versions.markDeleted(v.id);
    })();
    if (v.storage === 'store' && !this.registry.versions.liveStoreDigests().has(v.digest)) {
      await fs.rm(this.registry.versionDir(v), { recursive: true, force: true });
    }
  }

  loadedDetails(): LoadedVersionDetail[] {
    const deployments = this.registry.deployments.list();
    return this.lifecycle.loaded().map((s) => ({
      model: s.target.model,
      version: s.target.version,
      servedName: s.target.key,
      memoryBytes: s.target.memoryEstimateBytes,
      device: s.engine.info.executionProvider,
      replicas: s.engine.info.replicas ?? 1,
      stats: s.engine.stats(),
      inflight: s.inflight,
      loadedAt: new Date(s.loadedAt).toISOString(),
      lastUsedAt: new Date(s.lastUsedAt).toISOString(),
      expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(),
      speculative: {
        mode: s.target.engineOptions?.speculative ?? this.engineOptions.speculative ?? 'off',
        draftModelDir: s.engine.info.draftModelDir ?? null,
      },
      roles: deployments.flatMap((d) =>
        d.stableVersionId === s.target.versionId
          ? [`${d.name}: stable`]
          : d.candidate?.versionId === s.target.versionId
            ? [`${d.name}: ${d.candidate.mode} ${d.candidate.weight}%`]
            : [],
      ),
    }));
  }

  /** Stored buckets plus the minutes not written yet. */
  metricsHistory(filter: { model?: string; version?: string; minutes: number }): MetricsBucket[] {
    const sinceMs = Date.now() - filter.minutes * MINUTE_MS;
    const stored = this.registry.metrics.query({
      model: filter.model,
      version: filter.version,
      sinceMs,
    });
    const pending = this.metrics
      .pending()
      .map((p) => ({ p, v: this.registry.versions.byId(p.versionId) }))
      .filter(
        ({ p, v }) =>
          v &&
          p.startMs >= sinceMs &&
          (!filter.model || v.model === filter.model) &&
          (!filter.version || v.version === filter.version),
      )
      .map(({ p, v }) => toMetricsBucket(v!.model, v!.version, p.startMs, p.values, 'minute'));
    return [...stored, ...pending].sort((a, b) =>
      a.minute < b.minute ? -1 : a.minute > b.minute ? 1 : 0,
    );
  }

  /** Unloads every engine (through the provider), then flushes metrics and closes the database. */
  async close(): Promise<void> {
    await this.provider.close();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.pulls) c.abort();
    this.metrics.close();
    this.registry.close();
  }
}
