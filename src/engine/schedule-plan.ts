/**
 * What one engine step runs: the plan schedule() returns, and how one sequence's entry in it is
 * built (the real tokens it computes, and room for draft tokens to verify).
 */
import type { KvCacheManager } from './kv-cache-manager.js';
import type { RunnerSequence } from './runner-types.js';
import type { Sequence } from './sequence.js';

export interface ScheduledSequence {
  seq: Sequence;
  /** Positions computed this step, draft tokens included. */
  numNewTokens: number;
  /**
   * Draft tokens to verify (speculative decoding): the last numDrafts of runner.tokenIds, filled
   * in by the proposer after schedule(); numLogits is then numDrafts + 1.
   */
  numDrafts: number;
  /** What the runner computes for this sequence. */
  runner: RunnerSequence;
}

export interface SchedulePlan {
  scheduled: ScheduledSequence[];
  numTokens: number;
  /** Sequences preempted while making this plan. */
  preempted: Sequence[];
}

export function planEntry(
  seq: Sequence,
  numNew: number,
  numDrafts: number,
  kv: KvCacheManager,
): ScheduledSequence {
  const start = seq.numComputedTokens;
  const end = start + numNew;
  const realEnd = end - numDrafts;
  const tokenIds = seq.tokens.slice(start, realEnd);
  for (let i = 0; i < numDrafts; i++) tokenIds.push(0); // the proposer fills them in
  return {
    seq,
    numNewTokens: numNew,
    numDrafts,
    runner: {
      seqId: seq.seqId,
      tokenIds,
      startPosition: start,
      blockTable: seq.blockIds.slice(0, kv.blocksFor(end)),
      numLogits: realEnd === seq.numTokens ? 1 + numDrafts : 0,
    },
  };
}

/**
 * Draft tokens a decoding sequence may verify this step: what the proposer planned, within
 * the step's token budget, and never more than could be emitted before max tokens or the
 * context end (all accepted means numDrafts + 1 new tokens).
 */
export function grantedDrafts(seq: Sequence, budget: number, maxModelLen: number): number {
  if (seq.plannedDrafts <= 0 || seq.forkPending || seq.numTokens - seq.numComputedTokens !== 1)
    return 0;
  const remaining = seq.request.params.maxTokens - seq.choice.outputTokenIds.length;
  return Math.max(
    0,
    Math.min(seq.plannedDrafts, budget - 1, remaining - 1, maxModelLen - seq.numTokens - 1),
  );
}
