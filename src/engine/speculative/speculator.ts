/**
 * Speculative decoding inside the engine step. Around the scheduler it:
 * 1. before schedule(): picks how many drafts each decoding sequence should verify (adaptive,
 *    per sequence, from its acceptance rate), and computes prompt-lookup proposals outright;
 * 2. after schedule(): runs the draft model for the sequences that use it (and keeps the
 *    draft's KV in step with prefill chunks of those sequences) and writes the drafts into the
 *    plan;
 * 3. after the target's step: verifies drafts by rejection sampling, then records what was
 *    accepted.
 *
 * In 'draft' mode a prompt-lookup proposal, when there is one, replaces the draft model for a
 * step if its own acceptance record promises more tokens per cost: it needs no draft-model run.
 *
 * Speculating and plain sequences share one step. Speculation switches itself off while more
 * than `maxRunning` sequences run or wait: a large batch already keeps the hardware busy, and
 * drafts would only add work.
 */
import type { SamplingParams, SpeculativeMode } from '../../shared/sampling.js';
import type { KvCacheManager } from '../kv-cache-manager.js';
import type { ModelRunner } from '../runner-types.js';
import type { SampledToken, Sampler } from '../sampler.js';
import type { SchedulePlan, ScheduledSequence } from '../scheduler.js';
import type { Sequence } from '../sequence.js';
import type { EngineStats } from '../types.js';
import { AcceptanceEstimate, bestNumDrafts, draftValue, type DraftCost } from './draft-length.js';
import { DraftProposer, type DraftJob } from './draft-proposer.js';
import { proposeByLookup } from './ngram-proposer.js';
import { RejectionSampler, type DraftTokens } from './rejection-sampler.js';

export interface SpeculativeConfig {
  /** For requests that do not choose (SamplingParams.speculative). */
  defaultMode: SpeculativeMode;
  minDrafts: number;
  maxDrafts: number;
  /**
   * Drafts a probe proposes (a sequence whose record says drafting does not pay tries again
   * now and then). Long enough that a good draft shows it in one probe: at one draft a step,
   * even a draft that is always right barely beats plain decoding, so the record never rises.
   */
  probeDrafts: number;
  /** Speculate only while at most this many sequences are running or waiting. */
  maxRunning: number;
  /** Prompt lookup: longest and shortest suffix n-gram to match. */
  lookupMaxN: number;
  lookupMinN: number;
  /**
   * Cost of speculating with the draft model relative to a plain decode step: per step, and per
   * draft token (the draft model's forward pass plus one more verified position). Sets whether
   * and how deep to speculate for a given acceptance rate.
   */
  draftCost: DraftCost;
  /** Same for prompt lookup, where only the extra verified positions cost anything. */
  lookupCost: DraftCost;
  /** Acceptance rate a new sequence starts from (or the recent rate over all, when higher). */
  draftPrior: number;
  lookupPrior: number;
  /**
   * In 'draft' mode, take a prompt-lookup proposal instead of running the draft model whenever
   * it promises more tokens per cost (it needs no draft-model run at all).
   */
  draftUsesLookup: boolean;
}

export const DEFAULT_SPECULATIVE_CONFIG: Readonly<SpeculativeConfig> = Object.freeze({
  defaultMode: 'off',
  minDrafts: 1,
  maxDrafts: 8,
  probeDrafts: 4,
  // bench:spec on 2 CPU cores: clear gains at 1–2 streams, break-even at 4–8, none beyond.
  maxRunning: 4,
  lookupMaxN: 4,
  lookupMinN: 2,
  // Measured on 2 CPU cores with the shipped models, forcing k drafts a step: a draft-model step
  // costs about 1.6 + 0.35·k plain steps (tiny graphs are bound by per-node overhead, so the
  // draft runs at a third of the target's cost, not a quarter); a verified lookup token ~0.12.
  draftCost: Object.freeze({ perStep: 0.6, perDraft: 0.35 }),
  lookupCost: Object.freeze({ perStep: 0, perDraft: 0.12 }),
  draftPrior: 0.6,
  lookupPrior: 0.5,
  draftUsesLookup: true,
});

export const SPECULATIVE_MODES: readonly SpeculativeMode[] = ['off', 'draft', 'lookup'];

export function parseSpeculativeMode(value: string): SpeculativeMode {
  const found = SPECULATIVE_MODES.find((m) => m === value);
  if (!found)
    throw new Error(
      `unknown speculative mode '${value}'; expected one of ${SPECULATIVE_MODES.join(', ')}`,
    );
  return found;
}

type Proposer = 'draft' | 'lookup';

interface StepState {
  /** Sequences proposing by prompt lookup this step, with their proposals. */
  lookups: Map<Sequence, number[]>;
  drafts: Map<number, DraftTokens>;
  jobs: DraftJob[];
  accepted: Map<number, number>;
}

export class Speculator {
  readonly config: SpeculativeConfig;
  private readonly draft: DraftProposer | null;
  private readonly verifier: RejectionSampler;
  private readonly estimates = new WeakMap<
    Sequence,
    Partial<Record<Proposer, AcceptanceEstimate>>
  >();
  /**
   * Each proposer's recent acceptance over all sequences: a new sequence starts from it rather
   * than the configured prior, so a draft that has been right all along drafts from the first
   * token of the next request instead of waiting for that request's own first probe.
   */
  private readonly recent: Record<Proposer, AcceptanceEstimate>;
  private active = false;
  private step: StepState = {
    lookups: new Map(),
    drafts: new Map(),
    jobs: [],
    accepted: new Map(),
  };
  private proposed = 0;
  private accepted = 0;
  private verifications = 0;

  constructor(
    kv: KvCacheManager,
    sampler: Sampler,
    draftRunner: ModelRunner | null,
    config: Partial<SpeculativeConfig> = {},
  ) {
    this.config = { ...DEFAULT_SPECULATIVE_CONFIG, ...config };
    const c = this.config;
    if (!(c.minDrafts >= 1 && c.maxDrafts >= c.minDrafts && Number.isInteger(c.maxDrafts)))
      throw new RangeError('speculative drafts: need 1 <= minDrafts <= maxDrafts');
    this.draft = draftRunner ? new DraftProposer(draftRunner, kv) : null;
    this.recent = {
      draft: new AcceptanceEstimate(c.draftPrior),
      lookup: new AcceptanceEstimate(c.lookupPrior),
    };
    this.verifier = new RejectionSampler(sampler, sampler.vocabSize);
  }

  get hasDraftModel(): boolean {
    return this.draft !== null;
  }

  /** The mode a request runs with: its own choice, else the default; 'draft' needs a draft model. */
  modeOf(params: SamplingParams): SpeculativeMode {
    const mode = params.speculative ?? this.config.defaultMode;
    return mode === 'draft' && this.draft === null ? 'off' : mode;
  }

  /**
   * Before schedule(): drafts wanted per decoding sequence. Waiting requests count toward the
   * batch: a burst of arrivals must not get draft-model prefills right before speculation
   * switches off for it.
   */
  planDrafts(running: readonly Sequence[], numWaiting = 0): void {
    const c = this.config;
    this.step = { lookups: new Map(), drafts: new Map(), jobs: [], accepted: new Map() };
    this.active = running.length + numWaiting <= c.maxRunning;
    for (const seq of running) {
      seq.plannedDrafts = 0;
      // Not while the prompt of an n > 1 request is still one sequence (its last prefill token
      // forks the choices; a verification there would feed only choice 0).
      if (!this.active || seq.forkPending || seq.numTokens - seq.numComputedTokens !== 1) continue;
      const mode = this.modeOf(seq.request.params);
      if (mode === 'off') continue;
      let lookup: number[] = [];
      let lookupValue = 0;
      if (mode === 'lookup' || c.draftUsesLookup) {
        const estimate = this.estimate(seq, 'lookup');
        const k = this.numDrafts(estimate, c.lookupCost);
        lookup = proposeByLookup(seq.tokens, k, c.lookupMinN, c.lookupMaxN);
        const alpha = estimate.rate;
        lookupValue = draftValue(alpha, lookup.length, c.lookupCost);
      }
      if (mode === 'draft') {
        const estimate = this.estimate(seq, 'draft');
        const k = this.numDrafts(estimate, c.draftCost);
        const value = draftValue(estimate.rate, k, c.draftCost);
        if (lookup.length === 0 || value > lookupValue) {
          seq.plannedDrafts = k;
          continue;
        }
      }
      if (lookup.length > 0) {
        this.step.lookups.set(seq, lookup);
        seq.plannedDrafts = lookup.length;
      }
    }
  }

  /** The draft length for a proposer's record: 0 while it does not pay, except for a probe. */
  private numDrafts(estimate: AcceptanceEstimate, cost: DraftCost): number {
    const c = this.config;
    const k = bestNumDrafts(estimate.rate, cost, c.minDrafts, c.maxDrafts);
    if (k > 0) {
      estimate.paying();
      return k;
    }
    return estimate.probe() ? Math.min(c.maxDrafts, Math.max(c.minDrafts, c.probeDrafts)) : 0;
  }

  /** After schedule(): fills the plan's draft tokens (running the draft model where needed). */
  async propose(plan: SchedulePlan): Promise<void> {
    const { step } = this;
    for (const entry of plan.scheduled) {
      const { seq, numDrafts } = entry;
      const mode = this.modeOf(seq.request.params);
      const lookup = step.lookups.get(seq);
      if (lookup !== undefined) {
        // A draft-mode sequence proposing by lookup skips the draft model this step; its draft
        // KV catches up the next time it drafts.
        if (numDrafts === 0) continue;
        const tokenIds = lookup.slice(0, numDrafts);
        const ids = entry.runner.tokenIds;
        ids.splice(ids.length - numDrafts, numDrafts, ...tokenIds);
        step.drafts.set(seq.seqId, { tokenIds, probs: tokenIds.map(() => null) });
      } else if (mode === 'draft' && this.active && (numDrafts > 0 || entry.numNewTokens > 1)) {
        // Drafting, or a prefill chunk the draft's KV follows in step (so forks and prefix hits
        // share it too). A plain decode leaves the draft behind until it next drafts.
        const realEnd = entry.runner.startPosition + entry.numNewTokens - numDrafts;
        step.jobs.push({ entry, numDrafts, realEnd, result: null });
      }
    }
    if (this.draft === null || step.jobs.length === 0) return;
    await this.draft.propose(step.jobs);
    for (const job of step.jobs) {
      if (job.result !== null) step.drafts.set(job.entry.seq.seqId, job.result);
    }
  }

  /** The tokens a verified sequence emits: accepted drafts, then one from the target. */
  verify(entry: ScheduledSequence, logits: Float32Array): SampledToken[] {
    const { seq } = entry;
    const drafts = this.step.drafts.get(seq.seqId);
    if (drafts === undefined) throw new Error(`no drafts for sequence ${seq.seqId}`);
    const params = seq.request.params;
    const result = this.verifier.verify(logits, drafts, params, seq.choice);
    this.proposed += drafts.tokenIds.length;
    this.accepted += result.accepted;
    this.verifications++;
    const proposer = this.step.lookups.has(seq) ? 'lookup' : 'draft';
    this.estimate(seq, proposer).record(result.accepted, drafts.tokenIds.length);
    this.recent[proposer].record(result.accepted, drafts.tokenIds.length);
    this.step.accepted.set(seq.seqId, result.accepted);
    return result.tokens;
  }

  /** After the scheduler's update(): how much of the draft's KV stays valid. */
  afterUpdate(): void {
    if (this.draft === null) return;
    for (const job of this.step.jobs) {
      this.draft.settle(job, this.step.accepted.get(job.entry.seq.seqId) ?? 0);
    }
    this.step.jobs = [];
  }

  /** Keeps the draft's KV in step with copy-on-write in the target's blocks. */
  copyBlock(src: number, dst: number): void {
    this.draft?.copyBlock(src, dst);
  }

  stats(): EngineStats['speculative'] {
    return {
      proposed: this.proposed,
      accepted: this.accepted,
      verifications: this.verifications,
      acceptanceRate: this.proposed === 0 ? 0 : this.accepted / this.proposed,
      meanAcceptedLength:
        this.verifications === 0 ? 0 : (this.verifications + this.accepted) / this.verifications,
    };
  }

  private estimate(seq: Sequence, proposer: Proposer): AcceptanceEstimate {
    let all = this.estimates.get(seq);
    if (all === undefined) this.estimates.set(seq, (all = {}));
    // Never below the configured prior: one poor stretch must not keep the next requests from
    // trying (their own record takes over as soon as they verify).
    const prior = proposer === 'draft' ? this.config.draftPrior : this.config.lookupPrior;
    return (all[proposer] ??= new AcceptanceEstimate(Math.max(prior, this.recent[proposer].rate)));
  }
}
