/**
 * The ModelProvider behind deployments: `model` names a deployment (routed stable / canary /
 * shadow), a model (its newest version) or a pinned `model@version`. Engines come from the
 * lifecycle manager (loaded on first use); outcomes feed the metrics history and the rollout
 * policy; a canary that cannot load falls back to stable so the client never sees it.
 */
import type { Logger } from 'pino';
import type { Engine, GenerateRequest } from '../engine/types.js';
import { ModelNotFoundError, NotReadyError } from '../shared/errors.js';
import type { EngineHold, LifecycleManager, LoadTarget } from '../deploy/lifecycle.js';
import { parseModelRef, route, type RandomSource, type RouteChoice } from '../deploy/router.js';
import type { RolloutController } from '../deploy/rollouts.js';
import type { ShadowRunner } from '../deploy/shadow.js';
import type { MetricsRecorder } from '../registry/metrics-recorder.js';
import type { DeploymentRecord, VersionRecord } from '../registry/records.js';
import type { Registry } from '../registry/registry.js';
import type {
  AcquireContext,
  ModelLease,
  ModelProvider,
  RequestOutcome,
  ServedModel,
} from './model-provider.js';

export interface RegistryProviderDeps {
  registry: Registry;
  lifecycle: LifecycleManager;
  rollouts: RolloutController;
  shadows: ShadowRunner;
  metrics: MetricsRecorder;
  targetOf: (v: VersionRecord) => LoadTarget;
  logger: Logger;
  /** The deployment `orchard serve` loads at start and /ready waits for (the model setting). */
  defaultModel: string;
  random?: RandomSource;
  /** Runs after engines are unloaded on close (flush metrics, close the database). */
  onClose?: () => Promise<void> | void;
}

interface Resolved {
  deployment: DeploymentRecord | null;
  version: VersionRecord;
  choice: RouteChoice;
}

export class RegistryProvider implements ModelProvider {
  private closed = false;

  constructor(private readonly deps: RegistryProviderDeps) {}

  /**
   * Deployments, plus models that have none (served by their newest version). Pinned
   * `model@version` names work without being listed, so the list stays the names to use.
   */
  listModels(): ServedModel[] {
    const { registry } = this.deps;
    const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);
    const deployments = registry.deployments.list();
    const out: ServedModel[] = deployments.map((d) => ({
      id: d.name,
      created: seconds(d.createdAt),
      ownedBy: 'orchard',
    }));
    const names = new Set(out.map((m) => m.id));
    const deployed = new Set(deployments.map((d) => d.model));
    for (const m of registry.versions.listModelNames()) {
      if (names.has(m.name) || deployed.has(m.name) || !registry.versions.latest(m.name)) continue;
      out.push({ id: m.name, created: seconds(m.createdAt), ownedBy: 'orchard' });
    }
    return out;
  }

  /** Which version serves this request; synchronous so routing and the hold happen together. */
  resolve(model: string, user: string | undefined): Resolved {
    const { registry } = this.deps;
    const ref = parseModelRef(model);
    if (ref.version !== null) {
      const v = registry.versions.find(ref.name, ref.version);
      if (!v || v.state !== 'ready') throw new ModelNotFoundError(model);
      return {
        deployment: null,
        version: v,
        choice: { version: v.version, role: 'pinned', mirrorTo: null },
      };
    }
    const d = registry.deployments.find(model);
    if (d) {
      const choice = route(
        { name: d.name, model: d.model, stable: d.stable, candidate: d.candidate },
        { user },
        this.deps.random,
      );
      const id = choice.role === 'candidate' ? d.candidate!.versionId : d.stableVersionId;
      return { deployment: d, version: registry.versions.byId(id)!, choice };
    }
    const latest = registry.versions.latest(model);
    if (latest)
      return {
        deployment: null,
        version: latest,
        choice: { version: latest.version, role: 'pinned', mirrorTo: null },
      };
    throw new ModelNotFoundError(model);
  }

  async acquire(model: string, context: AcquireContext): Promise<ModelLease> {
    if (this.closed) throw new NotReadyError('The server is shutting down.');
    let r = this.resolve(model, context.user);
    let hold: EngineHold;
    try {
      hold = await this.deps.lifecycle.acquire(this.deps.targetOf(r.version), {
        signal: context.signal,
      });
    } catch (err) {
      if (r.choice.role !== 'candidate' || !r.deployment) throw err;
      // The canary cannot load: that counts against it, and stable answers instead.
      this.deps.rollouts.recordOutcome(r.deployment.name, r.version.id, {
        ok: false,
        error: (err as Error).message,
        e2eMs: 0,
        promptTokens: 0,
        completionTokens: 0,
      });
      const stable = this.deps.registry.versions.byId(r.deployment.stableVersionId)!;
      r = {
        deployment: r.deployment,
        version: stable,
        choice: { version: stable.version, role: 'stable', mirrorTo: null },
      };
      hold = await this.deps.lifecycle.acquire(this.deps.targetOf(stable), {
        signal: context.signal,
      });
    }
    return this.lease(r, hold, context);
  }

  private lease(r: Resolved, hold: EngineHold, context: AcquireContext): ModelLease {
    const { rollouts, metrics, shadows, registry } = this.deps;
    let ended = false;
    let settleStable: (tokens: number[] | null) => void = () => {};
    const stableTokens = new Promise<number[] | null>((resolve) => (settleStable = resolve));
    let mirrored = false;
    return {
      engine: hold.engine,
      servedName: hold.target.key,
      done: (outcome: RequestOutcome) => {
        if (ended) return;
        ended = true;
        hold.release(context.keepAliveMs);
        settleStable(outcome.ok ? (outcome.outputTokenIds ?? []) : null);
        metrics.record(r.version.id, outcome);
        if (r.deployment) rollouts.recordOutcome(r.deployment.name, r.version.id, outcome);
      },
      mirror: (request: GenerateRequest) => {
        if (mirrored || !r.choice.mirrorTo || !r.deployment?.candidate) return;
        mirrored = true;
        const d = r.deployment;
        const candidate = registry.versions.byId(d.candidate!.versionId);
        if (!candidate) return;
        const started = shadows.mirror(
          this.deps.targetOf(candidate),
          request,
          stableTokens,
          (result) => {
            metrics.recordShadow(candidate.id, result);
            rollouts.recordShadow(d.name, candidate.id, result);
          },
        );
        if (!started) rollouts.recordShadowSkipped(d.name, candidate.id);
      },
    };
  }

  /** Loads what the default deployment serves, so /ready means ready. */
  async warmUp(): Promise<void> {
    const r = this.resolve(this.deps.defaultModel, undefined);
    await this.deps.lifecycle.load(this.deps.targetOf(r.version));
  }

  /** `orchard-chat → orchard-chat@1` lines for what serve prints. */
  serving(): string[] {
    return this.deps.registry.deployments.list().map((d) => {
      const c = d.candidate
        ? ` (${d.candidate.mode} ${d.model}@${d.candidate.version} ${d.candidate.weight}%)`
        : '';
      return `${d.name} → ${d.model}@${d.stable}${c}`;
    });
  }

  isReady(): boolean {
    if (this.closed) return false;
    try {
      const r = this.resolve(this.deps.defaultModel, undefined);
      if (r.deployment)
        return this.deps.lifecycle.isLoaded(
          this.deps.targetOf(this.deps.registry.versions.byId(r.deployment.stableVersionId)!).key,
        );
      return this.deps.lifecycle.isLoaded(this.deps.targetOf(r.version).key);
    } catch {
      return this.deps.lifecycle.loaded().length > 0;
    }
  }

  loaded(): Array<{ name: string; model: string; version: string; engine: Engine }> {
    return this.deps.lifecycle.loaded().map((s) => ({
      name: s.target.key,
      model: s.target.model,
      version: s.target.version,
      engine: s.engine,
    }));
  }

  private closing: Promise<void> | null = null;

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      this.deps.shadows.close();
      await this.deps.lifecycle.close();
      await this.deps.onClose?.();
    })();
    return this.closing;
  }
}
