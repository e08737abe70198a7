/**
 * The decode calls' pasts kept from one execute of the runner to the next (onnx-runner.ts): a
 * short call whose rows are exactly those of a call in the previous execute takes that call's
 * past as it is, instead of gathering it from the paged blocks again. Carries live for one
 * execute: a row that skipped it may have been recomputed elsewhere.
 */
import type { DenseKvSet, DenseKvSets } from './dense-kv-sets.js';
import type { KvArray } from './paged-kv.js';
import type { RunnerSequence } from './runner-types.js';

/** A decode call's `present` outputs, which are the next decode's past as they are. */
export interface PresentCarry {
  seqIds: number[];
  starts: number[];
  /** Filled past slots after the call (its rows' next step has this P). */
  T: number;
  presents: KvArray[][];
}

/**
 * A dense past buffer of `width` slots per row, appended in place. Row b holds positions
 * [0, filled[b]) at slots [offsets[b], offsets[b] + filled[b]); a later call may start the row
 * anywhere up to filled[b] (a verification that rejected drafts starts before the end of what
 * it wrote: those slots are masked and then overwritten).
 */
export interface DenseCarry {
  seqIds: number[];
  offsets: number[];
  filled: number[];
  width: number;
  set: DenseKvSet;
}

export type DecodeCarry = PresentCarry | DenseCarry;

export class DecodeCarries {
  /** The previous execute's carries, which this execute's calls may take. */
  private carries: DecodeCarry[] = [];
  /** The carries this execute's calls leave for the next one. */
  private next: DecodeCarry[] = [];

  constructor(private readonly sets: DenseKvSets) {}

  /**
   * A dense carry serves only a call of exactly its rows, so one whose rows are not all in this
   * execute is released before the calls take their buffers, not after: the calls can then reuse
   * its set. (Released after, the first burst that followed an idle spell found no idle set and
   * allocated a whole batch's past afresh: ~25 MB for 16 rows behind a 512-token prompt. New
   * pages fault in at ~12 µs each on this VM: that burst's time to first token was 90–103 ms
   * against 28–35 ms for the next ones, whose gather took 2–5 ms.)
   */
  begin(sequences: readonly RunnerSequence[]): void {
    this.next = [];
    if (this.carries.length === 0) return;
    const present = new Set(sequences.map((s) => s.seqId));
    this.carries = this.carries.filter((c) => {
      if (!('set' in c) || c.seqIds.every((id) => present.has(id))) return true;
      this.sets.release(c.set);
      return false;
    });
  }

  /**
   * A previous short call with the same rows in the same order, each starting within what that
   * call's buffer holds for it. (A row's tokens before its start never change between two
   * consecutive executes: rolled-back drafts lie after it, and a preempted row misses one.)
   */
  findDense(rows: readonly RunnerSequence[]): DenseCarry | null {
    outer: for (const c of this.carries) {
      if (!('set' in c) || c.seqIds.length !== rows.length) continue;
      for (let i = 0; i < rows.length; i++) {
        if (rows[i].seqId !== c.seqIds[i] || rows[i].startPosition > c.filled[i]) continue outer;
      }
      return c;
    }
    return null;
  }

  /** A previous decode call with the same rows in the same order, each one position further. */
  findPresent(rows: readonly RunnerSequence[], P: number): PresentCarry | null {
    outer: for (const c of this.carries) {
      if (!('presents' in c) || c.seqIds.length !== rows.length || c.T !== P) continue;
      for (let i = 0; i < rows.length; i++) {
        if (rows[i].seqId !== c.seqIds[i] || rows[i].startPosition !== c.starts[i] + 1) {
          continue outer;
        }
      }
      return c;
    }
    return null;
  }

  /** A call of this execute leaves its past for the next execute. */
  keep(carry: DecodeCarry): void {
    this.next.push(carry);
  }

  /** The execute is done: the previous carries' sets no call kept go back for reuse. */
  end(): void {
    const kept = new Set(this.next.flatMap((k) => ('set' in k ? [k.set] : [])));
    for (const c of this.carries) {
      if ('set' in c && !kept.has(c.set)) this.sets.release(c.set);
    }
    this.carries = this.next;
    this.next = [];
  }
}
