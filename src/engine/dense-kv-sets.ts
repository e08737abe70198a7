/**
 * Dense past buffers for graphs that return only the new positions' keys and values
 * (`new_key_values.*`). A decode call's past lives in one set, [rows, kv_heads, width, head_dim]
 * per layer and kind, with spare slots after the filled ones: each step appends one slot per
 * row in place, so neither the graph nor the runner copies the whole past again. The spare slots
 * are masked out; they only ever hold zeros or earlier finite keys and values.
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
/** Idle sets kept for reuse (each is a whole batch's past). */
const MAX_IDLE = 4;

export class DenseKvSets {
  private idle: DenseKvSet[] = [];

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
