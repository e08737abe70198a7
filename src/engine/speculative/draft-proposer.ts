/**
 * Proposes draft tokens with a small draft model that shares the target's tokenizer.
 *
 * The draft keeps its own KV cache under the target's block ids: its runner holds as many
 * blocks as the target's, and a sequence's draft KV for position p lives in the same block
 * (and slot) as the target's. Prefix hits, forks, copy-on-write and frees therefore apply to
 * both caches at once; the draft only tracks how far its own KV is valid
 * (Sequence.draftComputedTokens) and which blocks it filled completely, so a prefix hit on a
 * block another request filled can skip the draft's work too.
 *
 * One proposal: the draft catches up on the sequence's real tokens (usually the one or two
 * emitted last step; a whole prompt after admission), which yields the first draft, then runs
 * one token at a time for the rest. Draft tokens' KV is written speculatively into the blocks
 * the target allocated for verification; after verification only the accepted part counts.
 */
import type { SamplingParams } from '../../shared/sampling.js';
import type { KvCacheManager } from '../kv-cache-manager.js';
import { argmax, drawFromLogits } from '../logits-processors.js';
import type { ModelRunner, RunnerSequence } from '../runner-types.js';
import { GREEDY_TEMPERATURE, Sampler, textFixedBySeed } from '../sampler.js';
import type { ScheduledSequence } from '../scheduler.js';
import type { Sequence } from '../sequence.js';
import type { DraftTokens } from './rejection-sampler.js';

export interface DraftJob {
  entry: ScheduledSequence;
  /** Drafts to propose (0: only keep the draft's KV in step with the target's). */
  numDrafts: number;
  /** The sequence's real tokens the target has after this step: tokens[0, realEnd). */
  realEnd: number;
  /** Filled by propose(): drafts (when numDrafts > 0) and where the draft's valid KV ended before. */
  result: DraftTokens | null;
  from?: number;
}

export class DraftProposer {
  /** Per block: the KV manager's generation of the block when the draft filled it completely. */
  private readonly filled: Uint32Array;
  private readonly sampler: Sampler;
  private readonly scratch: Float32Array;

  constructor(
    readonly runner: ModelRunner,
    private readonly kv: KvCacheManager,
  ) {
    this.filled = new Uint32Array(kv.pool.numBlocks);
    this.sampler = new Sampler(runner.vocabSize);
    this.scratch = new Float32Array(runner.vocabSize);
  }

  async propose(jobs: DraftJob[]): Promise<void> {
    const { kv } = this;
    const first: RunnerSequence[] = [];
    const proposing: DraftJob[] = [];
    for (const job of jobs) {
      const { seq, runner: target } = job.entry;
      let from = seq.draftComputedTokens ?? this.filledPrefix(seq, target.startPosition);
      // Proposing needs logits after the last real token, so that token is always computed.
      if (job.numDrafts > 0) from = Math.min(from, job.realEnd - 1);
      job.from = from;
      if (job.numDrafts > 0) {
        job.result = { tokenIds: [], probs: [] };
        proposing.push(job);
      }
      if (from < job.realEnd) {
        first.push({
          seqId: seq.seqId,
          tokenIds: seq.tokens.slice(from, job.realEnd),
          startPosition: from,
          blockTable: target.blockTable.slice(0, kv.blocksFor(job.realEnd)),
          numLogits: job.numDrafts > 0 ? 1 : 0,
        });
      }
      // Valid for real tokens from here on; drafts are settled after verification.
      seq.draftComputedTokens = job.realEnd;
    }
    if (first.length === 0) return;
    let out = await this.runner.execute(first);
    try {
      for (let j = 0; ; j++) {
        const next: RunnerSequence[] = [];
        for (const job of proposing) {
          const drafts = job.result!;
          if (drafts.tokenIds.length >= job.numDrafts) continue;
          const logits = out.logits.get(job.entry.seq.seqId);
          if (logits === undefined) throw new Error('the draft model returned no logits');
          this.pick(logits.subarray(logits.length - this.runner.vocabSize), job, drafts);
          if (drafts.tokenIds.length < job.numDrafts) {
            const position = job.realEnd + j;
            next.push({
              seqId: job.entry.seq.seqId,
              tokenIds: [drafts.tokenIds[j]],
              startPosition: position,
              blockTable: job.entry.runner.blockTable.slice(0, kv.blocksFor(position + 1)),
              numLogits: 1,
            });
          }
        }
        if (next.length === 0) break;
        out = await this.runner.execute(next);
      }
    } finally {
      for (const job of proposing) job.entry.seq.choice.clearTentative();
    }
    for (const job of proposing) {
      const { tokenIds } = job.entry.runner;
      tokenIds.splice(tokenIds.length - job.numDrafts, job.numDrafts, ...job.result!.tokenIds);
    }
  }

  /**
   * After the target's update: how much of this step's draft KV is valid. Drafts 1..accepted
   * match the sequence's tokens, but the last draft was never fed to the draft model.
   */
  settle(job: DraftJob, accepted: number): void {
    const seq = job.entry.seq;
    if (seq.status !== 'running' || seq.draftComputedTokens === null) return;
    const valid =
      job.numDrafts > 0
        ? Math.min(job.realEnd + accepted, job.realEnd + job.numDrafts - 1)
        : job.realEnd;
    const before = Math.min(job.from ?? 0, seq.draftComputedTokens);
    seq.draftComputedTokens = Math.min(valid, seq.numComputedTokens);
    const bs = this.kv.blockSize;
    for (let i = Math.floor(before / bs); i < Math.floor(seq.draftComputedTokens / bs); i++) {
      const block = seq.blockIds[i];
      this.filled[block] = this.kv.generation(block);
    }
  }

  copyBlock(src: number, dst: number): void {
    this.runner.copyBlock(src, dst);
  }

  /** Leading blocks of the sequence (within `limit` tokens) the draft filled while they held this content. */
  private filledPrefix(seq: Sequence, limit: number): number {
    const bs = this.kv.blockSize;
    let i = 0;
    while (
      i < seq.blockIds.length &&
      (i + 1) * bs <= limit &&
      this.filled[seq.blockIds[i]] === this.kv.generation(seq.blockIds[i])
    )
      i++;
    return i * bs;
  }

  /** Draws (or picks, greedy) the next draft from one row of draft logits. */
  private pick(row: Float32Array, job: DraftJob, drafts: DraftTokens): void {
    const seq = job.entry.seq;
    const params: SamplingParams = seq.request.params;
    const logits = Float32Array.from(row);
    this.sampler.process(logits, params, seq.choice);
    let tokenId: number;
    let probs: Float32Array | null = null;
    if (params.temperature < GREEDY_TEMPERATURE) {
      tokenId = argmax(logits);
    } else if (textFixedBySeed(params)) {
      // The number the target's sampler will draw this position with (verification accepts
      // only that draw): where the two distributions agree, so do the tokens.
      const u = seq.choice.rng.peekFloat(drafts.tokenIds.length);
      tokenId = drawFromLogits(logits, u, this.scratch);
    } else {
      probs = softmax32(logits);
      tokenId = drawFromProbs(probs, seq.choice.rng.nextFloat());
    }
    drafts.tokenIds.push(tokenId);
    drafts.probs.push(probs);
    seq.choice.addTentative(tokenId);
  }
}

function softmax32(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    const e = logits[i] === -Infinity ? 0 : Math.exp(logits[i] - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Inverse-CDF draw; never returns a token of probability 0. */
export function drawFromProbs(probs: Float32Array, u: number): number {
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    cumulative += probs[i];
    last = i;
    if (cumulative > u) return i;
  }
  return last;
}
