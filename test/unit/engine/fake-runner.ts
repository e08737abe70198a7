/**
 * A deterministic stand-in for the ONNX runner, for engine-core tests. Like a real model, its
 * "KV cache" lives in blocks and its logits depend only on what it reads back through the block
 * table: each slot holds a token and a hash of the whole prefix up to it, so any bookkeeping
 * mistake (wrong block, stale block, shared block overwritten) changes the output or trips a
 * check. Batch semantics match a gathered ONNX run: every sequence reads its past before any
 * sequence writes, so a block written in a step is not visible to others in that same step.
 */
import type {
  KvGeometry,
  ModelRunner,
  RunnerSequence,
  RunnerStepOutput,
} from '../../../src/engine/runner-types.js';
import type { KvArray } from '../../../src/engine/paged-kv.js';

const ROOT = 0x2545f491;

export function mix(h: number, x: number): number {
  let z = Math.imul((h ^ Math.imul(x + 1, 0x9e3779b1)) >>> 0, 0x85ebca77);
  z ^= z >>> 15;
  z = Math.imul(z, 0xc2b2ae3d);
  z ^= z >>> 13;
  return z >>> 0;
}

/** The fake model: raw logits after a prefix whose hash is `state`. */
export function fakeLogits(
  state: number,
  vocab: number,
  out: Float32Array = new Float32Array(vocab),
): Float32Array {
  for (let v = 0; v < vocab; v++) out[v] = (mix(state, v) / 4294967296) * 3;
  out[state % vocab] += 4;
  return out;
}

export function prefixState(tokens: readonly number[]): number {
  let h = ROOT;
  for (const t of tokens) h = mix(h, t);
  return h;
}

/** Greedy continuation computed straight from the fake model, no engine involved. */
export function referenceGreedy(
  prompt: readonly number[],
  vocab: number,
  maxTokens: number,
  stopIds: readonly number[] = [],
  maxModelLen = Infinity,
): number[] {
  let h = prefixState(prompt);
  const out: number[] = [];
  const logits = new Float32Array(vocab);
  while (out.length < maxTokens && prompt.length + out.length < maxModelLen) {
    fakeLogits(h, vocab, logits);
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[v] > logits[best]) best = v;
    out.push(best);
    h = mix(h, best);
    if (stopIds.includes(best)) break;
  }
  return out;
}

export interface ComputeRecord {
  seqId: number;
  startPosition: number;
  tokenIds: number[];
  numLogits: number;
  /** Which execute() call (1-based). */
  call: number;
}

/** A fake model: raw logits after the prefix whose hash is `state`. */
export type FakeModel = (
  state: number,
  vocab: number,
  out: Float32Array,
  lastToken: number,
) => Float32Array;

export interface FakeRunnerOptions {
  model?: FakeModel;
  /**
   * Allow a write that leaves a slot exactly as it was (same token after the same prefix), even
   * into a slot another sequence reads this step: a real runner writes the same keys and values
   * there. The draft model's store needs it (it may catch up inside blocks shared through the
   * prefix cache); the target's store stays strict.
   */
  tolerateIdenticalWrites?: boolean;
}

export class FakeRunner implements ModelRunner {
  readonly geometry: KvGeometry = { numLayers: 2, numKvHeads: 2, headDim: 8, dtypeBytes: 4 };
  readonly slotTokens: Int32Array;
  readonly slotState: Uint32Array;
  readonly log: ComputeRecord[] = [];
  computedTokens = 0;
  /** Writes that left a slot as it was (only counted with tolerateIdenticalWrites). */
  identicalWrites = 0;
  copies = 0;
  executeCalls = 0;
  /** Resolve execute() on a later macrotask, so tests can interleave aborts with a step. */
  asyncDelay = false;

  private readonly model: FakeModel;
  private readonly tolerateIdenticalWrites: boolean;

  constructor(
    readonly vocabSize: number,
    readonly blockSize: number,
    readonly numBlocks: number,
    options: FakeRunnerOptions = {},
  ) {
    this.model = options.model ?? fakeLogits;
    this.tolerateIdenticalWrites = options.tolerateIdenticalWrites ?? false;
    this.slotTokens = new Int32Array(numBlocks * blockSize).fill(-1);
    this.slotState = new Uint32Array(numBlocks * blockSize);
  }

  async execute(sequences: RunnerSequence[]): Promise<RunnerStepOutput> {
    this.executeCalls++;
    const bs = this.blockSize;
    const seen = new Set<number>();
    const reads = new Map<number, number>(); // slot → seqId reading it
    const pasts: number[] = [];
    for (const s of sequences) {
      if (seen.has(s.seqId)) throw new Error(`sequence ${s.seqId} twice in one step`);
      seen.add(s.seqId);
      if (s.tokenIds.length === 0) throw new Error(`sequence ${s.seqId}: no tokens`);
      const end = s.startPosition + s.tokenIds.length;
      if (s.blockTable.length !== Math.ceil(end / bs)) {
        throw new Error(`sequence ${s.seqId}: ${s.blockTable.length} blocks for ${end} positions`);
      }
      if (new Set(s.blockTable).size !== s.blockTable.length)
        throw new Error(`sequence ${s.seqId}: repeated block`);
      for (const b of s.blockTable) {
        if (!Number.isInteger(b) || b < 0 || b >= this.numBlocks)
          throw new Error(`bad block id ${b}`);
      }
      if (!Number.isInteger(s.numLogits) || s.numLogits < 0 || s.numLogits > s.tokenIds.length)
        throw new Error(`numLogits ${s.numLogits}`);
      // Read the past through the block table and check it is one consistent prefix.
      let h = ROOT;
      for (let p = 0; p < s.startPosition; p++) {
        const slot = s.blockTable[Math.floor(p / bs)] * bs + (p % bs);
        const token = this.slotTokens[slot];
        if (token < 0) throw new Error(`sequence ${s.seqId} reads unwritten position ${p}`);
        h = mix(h, token);
        if (this.slotState[slot] !== h)
          throw new Error(`sequence ${s.seqId}: KV at position ${p} is not its prefix`);
        reads.set(slot, s.seqId);
      }
      pasts.push(h);
    }
    const writes = new Map<number, number>(); // slot → prefix hash written there
    sequences.forEach((s, k) => {
      let h = pasts[k];
      for (let i = 0; i < s.tokenIds.length; i++) {
        const p = s.startPosition + i;
        const slot = s.blockTable[Math.floor(p / bs)] * bs + (p % bs);
        h = mix(h, s.tokenIds[i]);
        if (
          this.tolerateIdenticalWrites &&
          (writes.get(slot) === h ||
            (this.slotTokens[slot] === s.tokenIds[i] && this.slotState[slot] === h))
        ) {
          this.identicalWrites++;
          continue;
        }
        if (writes.has(slot)) throw new Error(`two sequences write slot ${slot} in one step`);
        const reader = reads.get(slot);
        if (reader !== undefined)
          throw new Error(`sequence ${s.seqId} overwrites a slot sequence ${reader} reads`);
        writes.set(slot, h);
      }
    });
    const logits = new Map<number, Float32Array>();
    const V = this.vocabSize;
    sequences.forEach((s, k) => {
      let h = pasts[k];
      const rows = new Float32Array(s.numLogits * V);
      const firstRow = s.tokenIds.length - s.numLogits;
      for (let i = 0; i < s.tokenIds.length; i++) {
        const p = s.startPosition + i;
        const slot = s.blockTable[Math.floor(p / bs)] * bs + (p % bs);
        h = mix(h, s.tokenIds[i]);
        this.slotTokens[slot] = s.tokenIds[i];
        this.slotState[slot] = h;
        if (i >= firstRow)
          this.model(
            h,
            V,
            rows.subarray((i - firstRow) * V, (i - firstRow + 1) * V),
            s.tokenIds[i],
          );
      }
      this.computedTokens += s.tokenIds.length;
      this.log.push({
        seqId: s.seqId,
        startPosition: s.startPosition,
        tokenIds: s.tokenIds.slice(),
        numLogits: s.numLogits,
        call: this.executeCalls,
      });
      if (s.numLogits > 0) logits.set(s.seqId, rows);
    });
    if (this.asyncDelay) await new Promise((resolve) => setTimeout(resolve, 0));
    return { logits };
  }

  copyBlock(src: number, dst: number): void {
    const bs = this.blockSize;
    this.slotTokens.copyWithin(dst * bs, src * bs, (src + 1) * bs);
    this.slotState.copyWithin(dst * bs, src * bs, (src + 1) * bs);
    this.copies++;
  }

  /**
   * Each block's slot tokens and prefix states as raw 32-bit words, padded to the element count
   * a real runner's block has (the core checks payload lengths against the geometry).
   */
  readBlocks(blocks: readonly number[]): Float32Array {
    const bs = this.blockSize;
    const per = this.blockWords();
    const words = new Uint32Array(blocks.length * per);
    blocks.forEach((b, i) => {
      words.set(new Uint32Array(this.slotTokens.buffer, b * bs * 4, bs), i * per);
      words.set(this.slotState.subarray(b * bs, (b + 1) * bs), i * per + bs);
    });
    return new Float32Array(words.buffer);
  }

  writeBlock(block: number, data: KvArray, index: number): void {
    const bs = this.blockSize;
    const words = new Uint32Array(data.buffer, data.byteOffset + index * this.blockWords() * 4);
    new Uint32Array(this.slotTokens.buffer).set(words.subarray(0, bs), block * bs);
    this.slotState.set(words.subarray(bs, 2 * bs), block * bs);
  }

  private blockWords(): number {
    const g = this.geometry;
    return 2 * g.numLayers * g.numKvHeads * this.blockSize * g.headDim;
  }

  async close(): Promise<void> {}
}
