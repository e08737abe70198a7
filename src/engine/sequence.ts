/**
 * Request and sequence state inside the engine core.
 *
 * A request with n choices starts as one sequence that prefills the prompt once; when the
 * prompt's logits are ready it forks into n sequences that share the prompt's KV blocks. A
 * sequence's progress is one number, `numComputedTokens`, catching up to `tokens.length`
 * (prompt + output): prefill chunks, prefix-cache hits and recompute after preemption all move
 * or reset that number and nothing else.
 */
import type { CoreTokenLogprob } from './core-types.js';
import type { FinishReason, SamplingParams } from '../shared/sampling.js';
import { Rng } from './rng.js';

/** What one choice carries through its life: generator, outputs, penalty bookkeeping. */
export class ChoiceState {
  readonly rng: Rng;
  readonly outputTokenIds: number[] = [];
  /** Output token → count; kept only when presence/frequency penalties are on. */
  readonly outputCounts: Map<number, number> | null;
  /** Every token of prompt + output; kept only when the repetition penalty is on. */
  readonly seenTokens: Set<number> | null;
  finishReason: FinishReason | null = null;
  /** Not yet reported to the host. */
  pendingTokenIds: number[] = [];
  pendingLogprobs: CoreTokenLogprob[] = [];
  finishReported = false;
  /** Tokens counted in the penalty state for verification only (see addTentative). */
  private readonly tentative: { tokenId: number; newlySeen: boolean }[] = [];

  constructor(
    readonly index: number,
    seed: number,
    params: SamplingParams,
    promptTokenIds: readonly number[],
  ) {
    this.rng = new Rng(seed, index);
    this.outputCounts =
      params.presencePenalty !== 0 || params.frequencyPenalty !== 0
        ? new Map<number, number>()
        : null;
    this.seenTokens = params.repetitionPenalty !== 1 ? new Set<number>(promptTokenIds) : null;
  }

  recordOutput(tokenId: number, logprob: CoreTokenLogprob | null): void {
    this.outputTokenIds.push(tokenId);
    this.pendingTokenIds.push(tokenId);
    if (logprob !== null) this.pendingLogprobs.push(logprob);
    if (this.outputCounts !== null)
      this.outputCounts.set(tokenId, (this.outputCounts.get(tokenId) ?? 0) + 1);
    this.seenTokens?.add(tokenId);
  }

  /**
   * Counts a not-yet-emitted token (an accepted draft) in the penalty state, so the next
   * verified position sees the same penalties it would have seen without speculation.
   */
  addTentative(tokenId: number): void {
    if (this.outputCounts === null && this.seenTokens === null) return;
    if (this.outputCounts !== null)
      this.outputCounts.set(tokenId, (this.outputCounts.get(tokenId) ?? 0) + 1);
    const newlySeen = this.seenTokens !== null && !this.seenTokens.has(tokenId);
    if (newlySeen) this.seenTokens!.add(tokenId);
    this.tentative.push({ tokenId, newlySeen });
  }

  /** Undoes every addTentative since the last call. */
  clearTentative(): void {
    for (let i = this.tentative.length - 1; i >= 0; i--) {
      const { tokenId, newlySeen } = this.tentative[i];
      if (this.outputCounts !== null) {
        const n = (this.outputCounts.get(tokenId) ?? 1) - 1;
        if (n === 0) this.outputCounts.delete(tokenId);
        else this.outputCounts.set(tokenId, n);
      }
      if (newlySeen) this.seenTokens!.delete(tokenId);
    }
    this.tentative.length = 0;
  }
}

export type SequenceStatus = 'waiting' | 'running' | 'finished';

export class Sequence {
  /** Prompt followed by this choice's output so far. */
  readonly tokens: number[];
  numComputedTokens = 0;
  status: SequenceStatus = 'waiting';
  /** KV blocks in position order; blockIds[i] holds positions [i·blockSize, (i+1)·blockSize). */
  blockIds: number[] = [];
  /** Chain hashes of the full blocks of `tokens` computed so far (lazily extended). */
  blockHashes: string[] = [];
  /** Leading blocks already offered to the prefix cache. */
  numCachedBlocks = 0;
  numPreemptions = 0;
  /**
   * Speculative decoding: draft tokens wanted for this sequence's next step, set before
   * schedule() (the scheduler may grant fewer).
   */
  plannedDrafts = 0;
  /**
   * Leading positions whose draft-model KV is valid in blockIds; null when unknown (a fresh or
   * re-admitted sequence: the draft proposer looks at which of its blocks it has filled).
   */
  draftComputedTokens: number | null = null;

  constructor(
    readonly seqId: number,
    readonly request: RequestState,
    /** The single choice this sequence carries (choice 0 before a fork). */
    readonly choice: ChoiceState,
    tokens: number[],
  ) {
    this.tokens = tokens;
  }

  get numTokens(): number {
    return this.tokens.length;
  }

  /** Still has to fork into the request's other choices once the prompt's logits are known. */
  get forkPending(): boolean {
    return (
      this.request.choices.length > 1 &&
      this.request.sequences.length === 1 &&
      this.choice.outputTokenIds.length === 0
    );
  }

  /** Running slots it will take: an unforked multi-choice sequence reserves one per choice. */
  get slots(): number {
    return this.forkPending ? this.request.choices.length : 1;
  }
}

export class RequestState {
  readonly sequences: Sequence[] = [];
  readonly choices: ChoiceState[];
  /** Prompt tokens served from the prefix cache on first admission. */
  cachedPromptTokens = 0;
  admitted = false;
  aborted = false;
  finished = false;

  constructor(
    readonly id: string,
    readonly promptTokenIds: readonly number[],
    readonly params: SamplingParams,
    readonly seed: number,
  ) {
    this.choices = [];
    for (let i = 0; i < params.n; i++)
      this.choices.push(new ChoiceState(i, seed, params, promptTokenIds));
  }

  get numFinishedChoices(): number {
    let done = 0;
    for (const c of this.choices) if (c.finishReason !== null) done++;
    return done;
  }
}
