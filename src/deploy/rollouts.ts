/**
 * Rollouts of a deployment: blue-green switches, canaries and shadows, promote and rollback,
 * by hand or by policy. Every state change goes through one registry transaction together with
 * its event; engines are loaded and warmed up before they take traffic, and a version that no
 * longer serves is retired (unloaded once its in-flight requests finish).
 */
import type { Logger } from 'pino';
import type {
  CandidateMode,
  DeploymentSummary,
  RolloutEvent,
  RolloutPolicy,
  ShadowLive,
} from '../shared/admin-api.js';
import { ConflictError, InvalidRequestError, OrchardError } from '../shared/errors.js';
import type { RequestOutcome } from '../service/model-provider.js';
import type { EventInput } from '../registry/deployments-repo.js';
import { summaryOf, type DeploymentRecord, type VersionRecord } from '../registry/records.js';
import type { Registry } from '../registry/registry.js';
import type { EngineHold, LifecycleManager, LoadTarget } from './lifecycle.js';
import { fmtMiB } from './lifecycle.js';
import { checkPolicy, checkWeight, describePolicy } from './policy.js';
import { RolloutMonitor, type ShadowOutcome } from './rollout-monitor.js';
import { warmUp as defaultWarmUp, type WarmupResult } from './warmup.js';
import type { Engine } from '../engine/types.js';
import { MODEL_NAME } from '../registry/versions-repo.js';

/**
 * Deployment names are addressed as `model` in requests, where `@` separates a version, so they
 * follow the registry's model-name rule.
 */
export function checkDeploymentName(name: string): void {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    throw new InvalidRequestError(
      `'${String(name)}' is not a valid deployment name: use letters, digits, '.', '-' or '_' (at most 128, starting with a letter or digit).`,
      'name',
    );
  }
}

/**
 * The last blue-green switch (deploy, promote, or a rollback that changed the stable version)
 * that made `stable` the stable version. Replays the log to tell a rollback that switched
 * stable apart from one that only dropped a candidate (from the candidate to the unchanged
 * stable), which must never be taken as a switch.
 */
export function lastSwitchTo(events: RolloutEvent[], stable: string): RolloutEvent | null {
  let current: string | null = null;
  let found: RolloutEvent | null = null;
  for (const e of events) {
    if (e.kind === 'created') {
      current = e.toVersion;
      continue;
    }
    const switches =
      e.kind === 'deploy' ||
      e.kind === 'promote' ||
      e.kind === 'auto-promote' ||
      // A blue-green rollback starts from the stable version; a candidate drop starts from the
      // candidate, which is never the stable version.
      (e.kind === 'rollback' && current !== null && e.fromVersion === current);
    if (!switches) continue;
    if (e.toVersion === stable && e.fromVersion !== null) found = e;
    current = e.toVersion;
  }
  return found;
}

export interface RolloutDeps {
  registry: Registry;
  lifecycle: LifecycleManager;
  targetOf: (v: VersionRecord) => LoadTarget;
  logger: Logger;
  warmUp?: (engine: Engine) => Promise<WarmupResult>;
}

export type Progress = (message: string) => void;

export class RolloutController {
  private readonly busy = new Set<string>();
  readonly monitor: RolloutMonitor;
  private readonly listeners = new Set<(e: RolloutEvent) => void>();
  private readonly warm: (engine: Engine) => Promise<WarmupResult>;

  constructor(private readonly deps: RolloutDeps) {
    this.warm = deps.warmUp ?? ((e) => defaultWarmUp(e));
    this.monitor = new RolloutMonitor(
      deps.registry,
      {
        busy: (name) => this.busy.has(name),
        rollback: (name, reason) => {
          this.rollback(name, { auto: true, reason }).catch((err: Error) =>
            deps.logger.warn({ deployment: name, err }, 'automatic rollback failed'),
          );
        },
        promote: (name, reason) => {
          this.promote(name, { auto: true, reason });
        },
      },
      deps.logger,
    );
  }

  onEvent(listener: (e: RolloutEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: RolloutEvent): void {
    this.deps.logger.info(
      { deployment: e.deployment, kind: e.kind, from: e.fromVersion, to: e.toVersion },
      `rollout: ${e.detail}`,
    );
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // listeners must not break rollouts
      }
    }
  }

  private get registry(): Registry {
    return this.deps.registry;
  }

  /** One long rollout operation per deployment at a time. */
  private async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(name))
      throw new ConflictError(
        `A rollout of '${name}' is in progress; try again when it has finished.`,
        'name',
      );
    this.busy.add(name);
    try {
      return await work();
    } finally {
      this.busy.delete(name);
    }
  }

  private apply(
    name: string,
    change: Parameters<Registry['deployments']['update']>[1],
    event: EventInput,
    expect?: Parameters<Registry['deployments']['update']>[3],
  ): DeploymentRecord {
    const { deployment, event: e } = this.registry.deployments.update(name, change, event, expect);
    this.emit(e);
    return deployment;
  }

  /** Unloads a version once idle, unless some deployment still serves it. */
  private retireIfUnused(v: VersionRecord): void {
    if (this.registry.deployments.usingVersion(v.id).length > 0) return;
    this.deps.lifecycle.retire(this.deps.targetOf(v).key);
  }

  /** Loads a version and runs the test generation; throws (after logging why) when it fails. */
  private async loadAndWarm(v: VersionRecord, progress: Progress): Promise<{ release(): void }> {
    const target = this.deps.targetOf(v);
    progress(`loading ${target.key} (estimated ${fmtMiB(target.memoryEstimateBytes)})`);
    let hold: EngineHold;
    try {
      hold = await this.deps.lifecycle.acquire(target);
    } catch (err) {
      // A version that cannot load is the candidate's fault, not the service's.
      if (err instanceof OrchardError && err.code === 'load_failed') {
        throw new OrchardError(err.message, 422, 'invalid_request_error', 'version', 'load_failed');
      }
      throw err;
    }
    progress(`warming up ${target.key}`);
    const result = await this.warm(hold.engine);
    if (!result.ok) {
      hold.release();
      this.retireIfUnused(v);
      throw new OrchardError(
        `${target.key} failed its warm-up: ${result.reason}`,
        422,
        'invalid_request_error',
        'version',
        'warmup_failed',
      );
    }
    progress(`${target.key} warmed up (${result.reason} in ${result.ms} ms)`);
    return hold;
  }

  create(name: string, model: string, version: string): DeploymentSummary {
    checkDeploymentName(name);
    const v = this.registry.versions.get(model, version);
    const { deployment, event } = this.registry.deployments.create(
      { name, modelId: v.modelId, stableVersionId: v.id },
      {
        kind: 'created',
        fromVersion: null,
        toVersion: version,
        detail: `created serving ${model}@${version}`,
      },
    );
    this.emit(event);
    return summaryOf(deployment);
  }

  /** Blue-green: load and warm the new version, switch in one transaction, retire the old one. */
  deploy(
    name: string,
    version: string,
    progress: Progress = () => {},
    kind: 'deploy' | 'rollback' = 'deploy',
    why = '',
  ): Promise<DeploymentSummary> {
    return this.exclusive(name, async () => {
      const d = this.registry.deployments.get(name);
      const v = this.registry.versions.get(d.model, version);
      if (v.id === d.stableVersionId && !d.candidate) return summaryOf(d);
      const old = this.registry.versions.byId(d.stableVersionId)!;
      let hold: { release(): void };
      try {
        hold = await this.loadAndWarm(v, progress);
      } catch (err) {
        this.emit(
          this.registry.deployments.appendEvent(name, {
            kind: 'auto-rollback',
            fromVersion: d.stable,
            toVersion: version,
            detail: `${kind} to ${version} abandoned, still serving ${d.stable}: ${(err as Error).message}`,
          }),
        );
        throw err;
      }
      try {
        const next = this.apply(
          name,
          { stableVersionId: v.id, ...(d.candidate ? { candidate: null } : {}) },
          {
            kind,
            fromVersion: d.stable,
            toVersion: version,
            detail: `${kind === 'deploy' ? 'switched' : 'rolled back'} from ${d.stable} to ${version}${why ? `: ${why}` : ''}${d.candidate ? ` (candidate ${d.candidate.version} dropped)` : ''}`,
          },
          { stableVersionId: d.stableVersionId },
        );
        this.monitor.reset(name, null);
        progress(`serving ${name} from ${version}`);
        return summaryOf(next);
      } finally {
        hold.release();
        this.retireIfUnused(old);
        if (d.candidate && d.candidate.versionId !== v.id)
          this.retireIfUnused(this.registry.versions.byId(d.candidate.versionId)!);
      }
    });
  }

  /** Starts a canary or shadow after loading and warming the candidate. */
  startCandidate(
    name: string,
    version: string,
    weight: number,
    mode: CandidateMode,
    progress: Progress = () => {},
  ): Promise<DeploymentSummary> {
    checkWeight(weight);
    if (mode !== 'canary' && mode !== 'shadow')
      throw new InvalidRequestError(
        `mode must be 'canary' or 'shadow', got '${String(mode)}'.`,
        'mode',
      );
    return this.exclusive(name, async () => {
      const d = this.registry.deployments.get(name);
      const v = this.registry.versions.get(d.model, version);
      if (v.id === d.stableVersionId) {
        throw new InvalidRequestError(
          `${d.model}@${version} is already the stable version of '${name}'.`,
          'version',
        );
      }
      let hold: { release(): void };
      try {
        hold = await this.loadAndWarm(v, progress);
      } catch (err) {
        this.emit(
          this.registry.deployments.appendEvent(name, {
            kind: 'auto-rollback',
            fromVersion: version,
            toVersion: d.stable,
            detail: `${mode} of ${version} rolled back before taking traffic: ${(err as Error).message}`,
          }),
        );
        throw err;
      }
      try {
        const previous = d.candidate;
        const next = this.apply(
          name,
          { candidate: { versionId: v.id, weight, mode } },
          {
            kind: mode,
            fromVersion: d.stable,
            toVersion: version,
            detail:
              mode === 'canary'
                ? `canary ${version} takes ${weight}% of traffic (stable ${d.stable})`
                : `shadow ${version} mirrors ${weight}% of traffic (stable ${d.stable} answers)`,
          },
          { stableVersionId: d.stableVersionId },
        );
        this.monitor.reset(name, v.id);
        if (previous && previous.versionId !== v.id)
          this.retireIfUnused(this.registry.versions.byId(previous.versionId)!);
        return summaryOf(next);
      } finally {
        hold.release();
      }
    });
  }

  setWeight(name: string, weight: number): DeploymentSummary {
    checkWeight(weight);
    const d = this.registry.deployments.get(name);
    if (!d.candidate)
      throw new InvalidRequestError(
        `'${name}' has no canary or shadow to change the weight of.`,
        'name',
      );
    const next = this.apply(
      name,
      { weight },
      {
        kind: 'weight',
        fromVersion: d.stable,
        toVersion: d.candidate.version,
        detail: `${d.candidate.mode} ${d.candidate.version} weight ${d.candidate.weight}% → ${weight}%`,
      },
      { candidateVersionId: d.candidate.versionId },
    );
    return summaryOf(next);
  }

  /** The candidate becomes stable; the old stable is retired. */
  promote(name: string, options: { auto?: boolean; reason?: string } = {}): DeploymentSummary {
    if (this.busy.has(name))
      throw new ConflictError(
        `A rollout of '${name}' is in progress; try again when it has finished.`,
        'name',
      );
    const d = this.registry.deployments.get(name);
    if (!d.candidate)
      throw new InvalidRequestError(
        `'${name}' has no candidate to promote; start one with canary or shadow, or use deploy.`,
        'name',
      );
    const old = this.registry.versions.byId(d.stableVersionId)!;
    const next = this.apply(
      name,
      { stableVersionId: d.candidate.versionId, candidate: null },
      {
        kind: options.auto ? 'auto-promote' : 'promote',
        fromVersion: d.stable,
        toVersion: d.candidate.version,
        detail: `${d.candidate.mode} ${d.candidate.version} promoted to stable (was ${d.stable})${options.reason ? `: ${options.reason}` : ''}`,
      },
      { stableVersionId: d.stableVersionId, candidateVersionId: d.candidate.versionId },
    );
    this.monitor.reset(name, null);
    this.retireIfUnused(old);
    return summaryOf(next);
  }

  /**
   * Drops the candidate. Without one, goes back to the stable version before the last switch
   * (a blue-green deploy of that version, warm-up included).
   */
  async rollback(
    name: string,
    options: { auto?: boolean; reason?: string } = {},
    progress: Progress = () => {},
  ): Promise<DeploymentSummary> {
    if (this.busy.has(name))
      throw new ConflictError(
        `A rollout of '${name}' is in progress; try again when it has finished.`,
        'name',
      );
    const d = this.registry.deployments.get(name);
    if (d.candidate) {
      const cand = this.registry.versions.byId(d.candidate.versionId)!;
      const next = this.apply(
        name,
        { candidate: null },
        {
          kind: options.auto ? 'auto-rollback' : 'rollback',
          fromVersion: d.candidate.version,
          toVersion: d.stable,
          detail: `${d.candidate.mode} ${d.candidate.version} rolled back, ${d.stable} serves everything${options.reason ? `: ${options.reason}` : ''}`,
        },
        { candidateVersionId: d.candidate.versionId },
      );
      this.monitor.reset(name, null);
      this.retireIfUnused(cand);
      return summaryOf(next);
    }
    const previous = lastSwitchTo(this.registry.deployments.events(name, 1000), d.stable);
    if (!previous?.fromVersion) {
      throw new InvalidRequestError(
        `'${name}' has no candidate and no earlier version to roll back to.`,
        'name',
      );
    }
    return this.deploy(name, previous.fromVersion, progress, 'rollback', options.reason ?? '');
  }

  setPolicy(name: string, policy: RolloutPolicy): DeploymentSummary {
    checkPolicy(policy);
    const d = this.registry.deployments.get(name);
    const next = this.apply(
      name,
      { policy },
      {
        kind: 'policy',
        fromVersion: null,
        toVersion: null,
        detail: `policy ${describePolicy(policy)}`,
      },
    );
    if (d.candidate) this.monitor.evaluate(name);
    return summaryOf(next);
  }

  /**
   * Engines take their speculative mode at load, so the deployment's loaded versions reload
   * with the new mode (after their in-flight requests). If they cannot — e.g. the draft model
   * does not share the tokenizer — the old mode comes back and the event log says why.
   */
  setSpeculative(name: string, mode: DeploymentSummary['speculative']): Promise<DeploymentSummary> {
    if (!['off', 'draft', 'lookup', 'default'].includes(mode)) {
      throw new InvalidRequestError(
        `speculative mode must be off, draft, lookup or default; got '${String(mode)}'.`,
        'mode',
      );
    }
    return this.exclusive(name, async () => {
      const d = this.registry.deployments.get(name);
      if (d.speculative === mode) return summaryOf(d);
      const next = this.apply(
        name,
        { speculative: mode },
        {
          kind: 'speculative',
          fromVersion: null,
          toVersion: null,
          detail: `speculative decoding ${d.speculative} → ${mode}`,
        },
      );
      const loaded = [d.stableVersionId, d.candidate?.versionId]
        .map((id) => (id === undefined ? null : this.registry.versions.byId(id)))
        .filter((v): v is VersionRecord => v !== null)
        .filter((v) => this.deps.lifecycle.isLoaded(this.deps.targetOf(v).key));
      try {
        for (const v of loaded) await this.deps.lifecycle.reload(this.deps.targetOf(v));
      } catch (err) {
        this.apply(
          name,
          { speculative: d.speculative },
          {
            kind: 'speculative',
            fromVersion: null,
            toVersion: null,
            detail: `speculative decoding ${mode} could not load, back to ${d.speculative}: ${(err as Error).message}`,
          },
        );
        for (const v of loaded) {
          await this.deps.lifecycle.reload(this.deps.targetOf(v)).catch(() => undefined);
        }
        throw new OrchardError(
          `Speculative decoding '${mode}' could not be loaded for '${name}': ${(err as Error).message}`,
          422,
          'invalid_request_error',
          'mode',
          'load_failed',
        );
      }
      return summaryOf(next);
    });
  }

  /** Live outcome of a request the deployment served (stable or canary). */
  recordOutcome(name: string, versionId: number, outcome: RequestOutcome): void {
    this.monitor.recordOutcome(name, versionId, outcome);
  }

  /** Outcome of a mirrored request on a shadow candidate. */
  recordShadow(name: string, versionId: number, outcome: ShadowOutcome): void {
    this.monitor.recordShadow(name, versionId, outcome);
  }

  /** A request not mirrored to the shadow candidate (its mirrors were at their cap). */
  recordShadowSkipped(name: string, versionId: number): void {
    this.monitor.recordShadowSkipped(name, versionId);
  }

  /** The shadow candidate's live figures, or null when the deployment runs no shadow. */
  shadowLive(name: string): ShadowLive | null {
    return this.monitor.shadowLive(name);
  }
}
