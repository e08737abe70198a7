/**
 * Watches a deployment's candidate on live outcomes (ModelLease.done and shadow results) and
 * asks the rollout controller to roll back or promote when the policy says so. One window per
 * deployment, reset whenever the candidate changes.
 */
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { ShadowLive } from '../shared/admin-api.js';
import type { RequestOutcome } from '../service/model-provider.js';
import { CandidateWindow } from './live-window.js';
import { evaluatePolicy } from './policy.js';

export interface ShadowOutcome {
  ok: boolean;
  ttftMs?: number;
  error?: string;
  agreement: number | null;
}

export interface MonitorActions {
  /** True while a long rollout operation holds the deployment: decisions wait. */
  busy(name: string): boolean;
  rollback(name: string, reason: string): void;
  promote(name: string, reason: string): void;
}

export class RolloutMonitor {
  private readonly windows = new Map<string, CandidateWindow>();

  constructor(
    private readonly registry: Registry,
    private readonly actions: MonitorActions,
    private readonly logger: Logger,
  ) {}

  /** Starts a fresh window for a new candidate (or drops it when there is none). */
  reset(name: string, candidateVersionId: number | null): void {
    if (candidateVersionId === null) this.windows.delete(name);
    else this.windows.set(name, new CandidateWindow(name, candidateVersionId, Date.now()));
  }

  recordOutcome(name: string, versionId: number, outcome: RequestOutcome): void {
    if (outcome.counted === false) return;
    const w = this.window(name);
    if (!w) return;
    if (versionId !== w.candidateVersionId) {
      w.stable.add(outcome);
      return;
    }
    w.candidate.add(outcome);
    this.evaluate(name);
  }

  recordShadow(name: string, versionId: number, outcome: ShadowOutcome): void {
    const w = this.window(name);
    if (!w || w.candidateVersionId !== versionId) return;
    w.candidate.add(outcome);
    w.shadow.requests++;
    if (!outcome.ok) w.shadow.errors++;
    if (outcome.agreement !== null) {
      w.shadow.compared++;
      w.shadow.agreementSum += outcome.agreement;
    }
    this.evaluate(name);
  }

  /** A request the shadow candidate did not get: its mirrors were at their cap. */
  recordShadowSkipped(name: string, versionId: number): void {
    const w = this.window(name);
    if (!w || w.candidateVersionId !== versionId) return;
    w.shadow.skipped++;
  }

  /** The shadow candidate's figures since it started, or null without a shadow candidate. */
  shadowLive(name: string): ShadowLive | null {
    const d = this.registry.deployments.find(name);
    const w = this.window(name);
    if (!d?.candidate || d.candidate.mode !== 'shadow' || !w) return null;
    const version = this.registry.versions.byId(w.candidateVersionId);
    const s = w.shadow;
    const ttft = w.candidate.stats();
    return {
      version: version?.version ?? String(w.candidateVersionId),
      since: new Date(w.since).toISOString(),
      mirrored: s.requests,
      errors: s.errors,
      compared: s.compared,
      agreement: s.compared > 0 ? s.agreementSum / s.compared : null,
      skipped: s.skipped,
      ttftP95: ttft.ttftSamples > 0 ? ttft.ttftP95 : null,
    };
  }

  /** The live window of the deployment's current candidate (created lazily after a restart). */
  window(name: string): CandidateWindow | null {
    const d = this.registry.deployments.find(name);
    if (!d?.candidate) {
      this.windows.delete(name);
      return null;
    }
    let w = this.windows.get(name);
    if (!w || w.candidateVersionId !== d.candidate.versionId) {
      w = new CandidateWindow(name, d.candidate.versionId, Date.now());
      this.windows.set(name, w);
    }
    return w;
  }

  evaluate(name: string): void {
    const w = this.windows.get(name);
    if (!w || w.acting || this.actions.busy(name)) return;
    const d = this.registry.deployments.find(name);
    if (!d?.candidate || d.candidate.versionId !== w.candidateVersionId) return;
    const decision = evaluatePolicy(d.policy, w.candidate.stats(), w.stable.stats(), {
      allowPromote: d.candidate.mode === 'canary',
    });
    if (decision.action === 'continue') return;
    w.acting = true;
    try {
      if (decision.action === 'rollback') {
        const last = w.candidate.lastError
          ? ` (last error: ${w.candidate.lastError.slice(0, 200)})`
          : '';
        this.actions.rollback(name, decision.reason + last);
      } else {
        this.actions.promote(name, decision.reason);
      }
    } catch (err) {
      this.logger.warn({ deployment: name, err }, 'automatic rollout action failed');
    } finally {
      w.acting = false;
    }
  }
}
