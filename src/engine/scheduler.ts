/**
 * Iteration-level scheduler (after vLLM v1's scheduler.py). `schedule()` picks this step's work
 * within a token budget: running sequences first (decodes, or the next chunk of a chunked
 * prefill), then waiting sequences in arrival order. When a running sequence cannot get a KV
 * block, the newest running sequence is preempted: its blocks are freed and it goes back to the
 * front of the queue to be recomputed later (its generated tokens are kept and recomputed as
 * part of its prompt). `update()` applies the sampled tokens, checks stop conditions, frees the
 * blocks of finished sequences and returns the outputs. With speculative decoding a decode also
 * carries draft tokens to verify (Sequence.plannedDrafts); update() keeps what was accepted and
 * rolls the rest back.
 */
import type { CoreOutput, EngineCoreConfig } from './core-types.js';
import type { FinishReason } from '../shared/sampling.js';
import type { KvCacheManager } from './kv-cache-manager.js';
import type { SampledToken } from './sampler.js';
import {
  grantedDrafts,
  planEntry,
  type ScheduledSequence,
  type SchedulePlan,
} from './schedule-plan.js';
import { Sequence, type RequestState } from './sequence.js';

export type { ScheduledSequence, SchedulePlan } from './schedule-plan.js';

export interface SchedulerCounters {
  /** Prompt positions computed (prefix hits excluded, recompute after preemption included). */
  promptTokens: number;
  generationTokens: number;
  steps: number;
  preemptions: number;
  /** Per finished choice. */
  finished: Record<FinishReason, number>;
  prefixQueriedTokens: number;
  prefixHitTokens: number;
}

export class Scheduler {
  readonly running: Sequence[] = [];
  readonly waiting: Sequence[] = [];
  readonly counters: SchedulerCounters = {
    promptTokens: 0,
    generationTokens: 0,
    steps: 0,
    preemptions: 0,
    finished: { stop: 0, length: 0, abort: 0 },
    prefixQueriedTokens: 0,
    prefixHitTokens: 0,
  };
  private readonly requests = new Map<string, RequestState>();
  private readonly pendingAborts: RequestState[] = [];
  private readonly pendingChoiceEnds: {
    request: RequestState;
    index: number;
    reason: FinishReason;
  }[] = [];
  /** Requests with something to report at the end of this step. */
  private readonly touched = new Set<RequestState>();
  private readonly eosTokenIds: Set<number>;
  private nextSeqId = 0;
  /** Every running sequence decodes every step: never more of them than tokens in a step. */
  private readonly maxRunning: number;

  constructor(
    private readonly config: EngineCoreConfig,
    readonly kv: KvCacheManager,
  ) {
    this.eosTokenIds = new Set(config.eosTokenIds);
    this.maxRunning = Math.min(config.maxRunning, config.maxBatchTokens);
  }

  has(requestId: string): boolean {
    return this.requests.has(requestId);
  }

  /** Queues a validated request as one sequence (it forks into its choices after prefill). */
  add(request: RequestState): void {
    const seq = new Sequence(
      this.nextSeqId++,
      request,
      request.choices[0],
      request.promptTokenIds.slice(),
    );
    request.sequences.push(seq);
    this.requests.set(request.id, request);
    this.waiting.push(seq);
  }

  /** Marks the request; its blocks are freed and its final output emitted at the next step. */
  abort(requestId: string): void {
    const request = this.requests.get(requestId);
    if (request === undefined || request.aborted) return;
    request.aborted = true;
    this.pendingAborts.push(request);
  }

  /** Ends one choice at the next step (e.g. the host matched a stop string in its text). */
  finishChoice(requestId: string, index: number, reason: FinishReason): void {
    const request = this.requests.get(requestId);
    if (request === undefined || request.aborted) return;
    this.pendingChoiceEnds.push({ request, index, reason });
  }

  hasWork(): boolean {
    return (
      this.running.length > 0 ||
      this.waiting.length > 0 ||
      this.pendingAborts.length > 0 ||
      this.pendingChoiceEnds.length > 0 ||
      this.touched.size > 0
    );
  }

  /** Running slots in use: an unforked multi-choice sequence reserves one per choice. */
  get usedSlots(): number {
    let slots = 0;
    for (const seq of this.running) slots += seq.slots;
    return slots;
  }

  /**
   * Applies what the host asked between steps: aborted requests free their blocks and finish
   * every open choice with 'abort'; ended choices free their sequence's blocks.
   */
  processHostRequests(): void {
    for (const { request, index, reason } of this.pendingChoiceEnds.splice(0)) {
      const choice = request.choices[index];
      if (
        request.finished ||
        request.aborted ||
        choice === undefined ||
        choice.finishReason !== null
      )
        continue;
      // Before the fork a choice has no sequence of its own and no tokens the host could judge.
      const seq = request.sequences.find((s) => s.choice === choice && s.status !== 'finished');
      if (seq === undefined || seq.forkPending) continue;
      this.finish(seq, reason);
    }
    for (const request of this.pendingAborts.splice(0)) {
      for (const seq of request.sequences) {
        if (seq.status === 'finished') continue;
        this.remove(seq);
        this.kv.free(seq);
        seq.status = 'finished';
      }
      for (const choice of request.choices) {
        if (choice.finishReason !== null) continue;
        choice.finishReason = 'abort';
        this.counters.finished.abort++;
      }
      this.completeRequest(request);
    }
  }

  schedule(): SchedulePlan {
    const { kv } = this;
    const scheduled: ScheduledSequence[] = [];
    const preempted: Sequence[] = [];
    let budget = this.config.maxBatchTokens;

    // Decodes before the next chunks of running prefills, so a long prompt never stalls a stream.
    const decodes = this.running.filter((seq) => seq.numTokens - seq.numComputedTokens === 1);
    const decodesFirst = [
      ...decodes,
      ...this.running.filter((seq) => seq.numTokens - seq.numComputedTokens > 1),
    ];
    const isScheduled = new Set<Sequence>();
    // Decodes after this one, each owed one token before anyone's drafts: otherwise the first
    // speculating sequences can take a small budget every step and starve the rest.
    let decodesLeft = decodes.length;
    for (const seq of decodesFirst) {
      if (budget === 0) break;
      if (seq.numTokens - seq.numComputedTokens === 1) decodesLeft--;
      if (seq.status !== 'running') continue; // preempted for an earlier one
      let numDrafts = grantedDrafts(
        seq,
        Math.max(1, budget - decodesLeft),
        this.config.maxModelLen,
      );
      let numNew = Math.min(seq.numTokens - seq.numComputedTokens, budget) + numDrafts;
      let allocated = kv.allocateSlots(seq, numNew);
      if (!allocated && numDrafts > 0) {
        // Drop the speculation before taking blocks from anyone else.
        numNew -= numDrafts;
        numDrafts = 0;
        allocated = kv.allocateSlots(seq, numNew);
      }
      while (!allocated) {
        const victim = this.newestUnscheduled(isScheduled, seq);
        if (victim === undefined) break;
        this.preempt(victim);
        preempted.push(victim);
        allocated = kv.allocateSlots(seq, numNew);
      }
      if (!allocated) {
        if (this.running.length === 1) {
          // Alone and still out of blocks: this sequence has outgrown the whole pool.
          this.finish(seq, 'length');
        } else {
          this.preempt(seq);
          preempted.push(seq);
        }
        continue;
      }
      scheduled.push(planEntry(seq, numNew, numDrafts, this.kv));
      isScheduled.add(seq);
      budget -= numNew;
    }

    // Admitting new work right after preempting would only thrash the pool.
    if (preempted.length === 0) {
      let slots = this.usedSlots;
      // Prompt blocks some running sequence has yet to compute. A request whose next block is one
      // of them waits a step for the cached copy: a burst behind one system prompt computes it
      // once, not once per request that fits in the first step.
      // (Built only when someone waits: most steps admit nobody.)
      const inFlight = new Set<string>();
      if (this.waiting.length > 0) {
        for (const seq of this.running) {
          if (seq.numTokens - seq.numComputedTokens > 1) {
            for (const h of kv.pendingBlockHashes(seq)) inFlight.add(h);
          }
        }
      }
      while (this.waiting.length > 0 && budget > 0) {
        const seq = this.waiting[0];
        if (this.running.length > 0 && slots + seq.slots > this.maxRunning) break;
        const hit = kv.findPrefixHit(seq);
        const next = kv.blockHashAfter(seq, hit);
        if (next !== undefined && inFlight.has(next)) break;
        const numNew = Math.min(seq.numTokens - hit.numTokens, budget);
        if (!kv.allocateSlots(seq, numNew, hit)) {
          if (this.running.length === 0) {
            // Nothing will ever free a block for it: it has outgrown the whole pool.
            this.waiting.shift();
            this.finish(seq, 'length');
            continue;
          }
          break;
        }
        this.waiting.shift();
        seq.status = 'running';
        this.running.push(seq);
        slots += seq.slots;
        const request = seq.request;
        if (!request.admitted) {
          request.admitted = true;
          request.cachedPromptTokens = Math.min(hit.numTokens, request.promptTokenIds.length);
          this.counters.prefixQueriedTokens += seq.numTokens;
          this.counters.prefixHitTokens += hit.numTokens;
        }
        scheduled.push(planEntry(seq, numNew, 0, kv));
        budget -= numNew;
        for (const h of kv.pendingBlockHashes(seq)) inFlight.add(h);
      }
    }

    return { scheduled, numTokens: this.config.maxBatchTokens - budget, preempted };
  }

  /**
   * Applies one executed step. `samples` maps a sequence id to its sampled tokens: one; or one
   * per choice for the sequence whose prompt just completed and forks now; or, after verifying
   * drafts, the accepted drafts followed by one token sampled by the target.
   */
  update(plan: SchedulePlan, samples: ReadonlyMap<number, readonly SampledToken[]>): CoreOutput[] {
    for (const { seq, numNewTokens, numDrafts, runner } of plan.scheduled) {
      if (seq.status !== 'running' || seq.request.aborted) continue;
      const start = seq.numComputedTokens;
      if (numDrafts > 0) {
        this.applyVerified(seq, start + numNewTokens - numDrafts, numDrafts, samples);
        continue;
      }
      seq.numComputedTokens = start + numNewTokens;
      const promptLen = seq.request.promptTokenIds.length;
      if (start < promptLen)
        this.counters.promptTokens += Math.min(promptLen, start + numNewTokens) - start;
      this.kv.cacheComputedBlocks(seq);
      if (runner.numLogits === 0) continue;
      const sampled = samples.get(seq.seqId);
      if (sampled === undefined || sampled.length === 0)
        throw new Error(`no sampled token for sequence ${seq.seqId}`);
      if (seq.forkPending) {
        const request = seq.request;
        const children: Sequence[] = [];
        for (let c = 1; c < request.choices.length; c++) {
          const child = new Sequence(
            this.nextSeqId++,
            request,
            request.choices[c],
            request.promptTokenIds.slice(),
          );
          this.kv.fork(seq, child);
          child.status = 'running';
          request.sequences.push(child);
          this.running.push(child);
          children.push(child);
        }
        this.append(seq, sampled[0]);
        children.forEach((child, c) => this.append(child, sampled[c + 1]));
      } else {
        this.append(seq, sampled[0]);
      }
    }
    this.counters.steps++;
    return this.takeOutputs();
  }

  /** Outputs of every request that got tokens or finished since the last call. */
  takeOutputs(): CoreOutput[] {
    const outputs: CoreOutput[] = [];
    for (const request of this.touched) {
      const choices = [];
      for (const choice of request.choices) {
        const finishing = choice.finishReason !== null && !choice.finishReported;
        if (choice.pendingTokenIds.length === 0 && !finishing) continue;
        choices.push({
          index: choice.index,
          newTokenIds: choice.pendingTokenIds,
          logprobs: choice.pendingLogprobs,
          finishReason: choice.finishReason,
        });
        choice.pendingTokenIds = [];
        choice.pendingLogprobs = [];
        if (finishing) choice.finishReported = true;
      }
      outputs.push({
        requestId: request.id,
        choices,
        finished: request.finished,
        promptTokens: request.promptTokenIds.length,
        cachedPromptTokens: request.cachedPromptTokens,
      });
    }
    this.touched.clear();
    return outputs;
  }

  /** Every block table holding a reference, for BlockPool.checkInvariants. */
  *blockHolders(): Generator<readonly number[]> {
    for (const seq of this.running) yield seq.blockIds;
    for (const seq of this.waiting) yield seq.blockIds;
  }

  /**
   * Applies a verification: `sampled` holds the accepted drafts and one token from the target.
   * Positions of rejected drafts are rolled back: numComputedTokens stops after the last
   * accepted draft and blocks past it are freed; the prefix cache only sees the accepted part.
   */
  private applyVerified(
    seq: Sequence,
    realEnd: number,
    numDrafts: number,
    samples: ReadonlyMap<number, readonly SampledToken[]>,
  ): void {
    const sampled = samples.get(seq.seqId);
    if (sampled === undefined || sampled.length === 0 || sampled.length > numDrafts + 1)
      throw new Error(`bad verification result for sequence ${seq.seqId}`);
    for (const token of sampled) {
      this.append(seq, token);
      if (seq.status !== 'running') return; // finished: its blocks are already freed
    }
    seq.numComputedTokens = realEnd + sampled.length - 1;
    this.kv.trim(seq, seq.numComputedTokens);
    this.kv.cacheComputedBlocks(seq);
  }

  private append(seq: Sequence, sampled: SampledToken): void {
    const { tokenId } = sampled;
    const params = seq.request.params;
    seq.tokens.push(tokenId);
    seq.choice.recordOutput(tokenId, sampled.logprob);
    this.counters.generationTokens++;
    this.touched.add(seq.request);
    if (
      (!params.ignoreEos && this.eosTokenIds.has(tokenId)) ||
      params.stopTokenIds.includes(tokenId)
    ) {
      this.finish(seq, 'stop');
    } else if (
      seq.choice.outputTokenIds.length >= params.maxTokens ||
      seq.numTokens >= this.config.maxModelLen
    ) {
      this.finish(seq, 'length');
    }
  }

  /** The most recently admitted running sequence not yet planned this step, other than `seq`. */
  private newestUnscheduled(
    isScheduled: ReadonlySet<Sequence>,
    seq: Sequence,
  ): Sequence | undefined {
    for (let j = this.running.length - 1; j >= 0; j--) {
      const candidate = this.running[j];
      if (candidate !== seq && !isScheduled.has(candidate)) return candidate;
    }
    return undefined;
  }

  private preempt(seq: Sequence): void {
    this.remove(seq);
    this.kv.free(seq);
    seq.status = 'waiting';
    seq.numPreemptions++;
    this.counters.preemptions++;
    this.waiting.unshift(seq);
  }

  private finish(seq: Sequence, reason: FinishReason): void {
    this.remove(seq);
    this.kv.free(seq);
    seq.status = 'finished';
    const request = seq.request;
    // An unforked multi-choice sequence ends every choice that has not started yet.
    const ended = seq.forkPending ? request.choices : [seq.choice];
    for (const choice of ended) {
      if (choice.finishReason !== null) continue;
      choice.finishReason = reason;
      this.counters.finished[reason]++;
    }
    this.touched.add(request);
    if (request.numFinishedChoices === request.choices.length) this.completeRequest(request);
  }

  private completeRequest(request: RequestState): void {
    request.finished = true;
    this.requests.delete(request.id);
    this.touched.add(request);
  }

  private remove(seq: Sequence): void {
    const list = seq.status === 'running' ? this.running : this.waiting;
    const at = list.indexOf(seq);
    if (at >= 0) list.splice(at, 1);
  }
}
