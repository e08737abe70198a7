/**
 * Dense past buffers for graphs that return only the new positions' keys and values
 * (`new_key_values.*`). A short call's past (decodes, verifications) lives in one set,
 * [rows, kv_heads, width, head_dim] per layer and kind, with spare slots after the filled ones:
 * each step appends its rows' new slots in place, so neither the graph nor the runner copies the
 * whole past again. The spare slots are masked out; they only ever hold zeros or earlier finite
 * keys and values.
 */
import type { KvArray } from './paged-kv.js';

export interface DenseKvSet {
  keys: KvArray[];
  values: KvArray[];
  /** Elements each array holds (a call uses a prefix). */
  elems: number;
}

/** Slots a decode call's buffer keeps free, so it is re-gathered once every this many steps. */
export const DECODE_HEADROOM = 32;
/**
 * Rows at most this long (decodes, speculative verifications, a draft model catching up) keep
 * their dense past between calls; longer ones are prefill chunks, gathered once.
 */
export const CARRY_MAX_TOKENS = 16;

/**
 * Spare slots for a fresh dense past whose rows bring `tokens` new tokens per call: a decode's
 * 32, and for a verification of k drafts room for about six more (the past then grows by up to
 * k + 1 a step). Spare slots are masked but still attended over, so they are not free.
 */
export function headroomFor(tokens: number): number {
  return Math.max(DECODE_HEADROOM, 6 * tokens);
}
/** Idle sets kept for reuse (each is a whole batch's past). */
const MAX_IDLE = 4;

export class DenseKvSets {
  private idle: DenseKvSet[] = [];
  /** Sets allocated so far (each a whole batch's past: megabytes). */
  allocated = 0;

  constructor(
    private readonly numLayers: number,
    private readonly alloc: (length: number) => KvArray,
  ) {}

  /** A set of at least `elems` elements per array (contents unspecified but finite). */
  take(elems: number): DenseKvSet {
    let best = -1;
    for (let i = 0; i < this.idle.length; i++) {
      const e = this.idle[i].elems;
      if (e >= elems && (best < 0 || e < this.idle[best].elems)) best = i;
    }
    if (best >= 0) return this.idle.splice(best, 1)[0];
    // Headroom, so the next, slightly longer call can reuse it.
    const n = Math.ceil(elems * 1.25);
    const make = () => Array.from({ length: this.numLayers }, () => this.alloc(n));
    this.allocated++;
    return { keys: make(), values: make(), elems: n };
  }

  release(set: DenseKvSet): void {
    this.idle.push(set);
    if (this.idle.length > MAX_IDLE) {
      this.idle.sort((a, b) => b.elems - a.elems);
      this.idle.length = MAX_IDLE;
    }
  }
}
