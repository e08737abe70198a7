/**
 * What a candidate and its stable did since the candidate started: the live figures the
 * rollout policy judges. Reset whenever the candidate changes.
 */
import type { RequestOutcome } from '../service/model-provider.js';
import { percentile, type WindowStats } from './policy.js';

const MAX_TTFT_SAMPLES = 1000;

export class OutcomeWindow {
  requests = 0;
  errors = 0;
  private readonly ttft: number[] = [];
  lastError: string | null = null;

  add(o: Pick<RequestOutcome, 'ok' | 'ttftMs' | 'error'>): void {
    this.requests++;
    if (!o.ok) {
      this.errors++;
      if (o.error) this.lastError = o.error;
    } else if (o.ttftMs !== undefined) {
      if (this.ttft.length >= MAX_TTFT_SAMPLES) this.ttft.shift();
      this.ttft.push(o.ttftMs);
    }
  }

  stats(): WindowStats {
    return {
      requests: this.requests,
      errors: this.errors,
      ttftP95: percentile(this.ttft, 95),
      ttftSamples: this.ttft.length,
    };
  }
}

export interface ShadowTally {
  requests: number;
  errors: number;
  compared: number;
  agreementSum: number;
  /** Requests not mirrored: the shadow runner was at its cap (the candidate lagging behind). */
  skipped: number;
}

export class CandidateWindow {
  readonly candidate = new OutcomeWindow();
  readonly stable = new OutcomeWindow();
  readonly shadow: ShadowTally = {
    requests: 0,
    errors: 0,
    compared: 0,
    agreementSum: 0,
    skipped: 0,
  };
  /** Set while a rollback/promotion triggered by this window is being applied. */
  acting = false;

  constructor(
    readonly deployment: string,
    readonly candidateVersionId: number,
    readonly since: number,
  ) {}
}
