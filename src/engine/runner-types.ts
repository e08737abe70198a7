/**
 * Contract between the engine core (scheduler, KV block bookkeeping, sampler) and a model
 * runner (ONNX Runtime). The core decides which tokens run and which KV blocks they use; the
 * runner owns the KV storage and computes logits. Tests drive the core with a fake runner.
 */
import type { KvArray } from './paged-kv.js';

export interface KvGeometry {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Bytes per element of the KV cache (4 for float32, 2 for float16). */
  dtypeBytes: number;
}

/** Bytes one token occupies in the KV cache: key + value, every layer. */
export function kvBytesPerToken(g: KvGeometry): number {
  return 2 * g.numLayers * g.numKvHeads * g.headDim * g.dtypeBytes;
}

export interface RunnerSequence {
  seqId: number;
  /** New tokens to compute this step (a decode token, a prefill chunk, or verified drafts). */
  tokenIds: number[];
  /** Absolute position of tokenIds[0] (= tokens already in the KV cache for this sequence). */
  startPosition: number;
  /** Block ids in order, covering startPosition + tokenIds.length tokens. */
  blockTable: number[];
  /** How many trailing positions need logits: 0 (mid-prefill chunk), 1 (normal), k+1 (speculative verify). */
  numLogits: number;
}

export interface RunnerStepOutput {
  /**
   * seqId → logits of its last `numLogits` positions, concatenated row after row
   * (numLogits × vocabSize floats). Valid until the runner's next execute(), which may reuse
   * the memory: copy what must outlive it.
   */
  logits: Map<number, Float32Array>;
}

export interface ModelRunner {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly geometry: KvGeometry;
  /** Computes the step; the new tokens' keys and values are written into their blocks. */
  execute(sequences: RunnerSequence[]): Promise<RunnerStepOutput>;
  /** Copies one block's keys and values into another (copy-on-write when choices diverge). */
  copyBlock(src: number, dst: number): void;
  /**
   * Blocks' keys and values as one array, and writing one of them back (possibly in another
   * runner of the same model): how a replica hands a computed prefix to another. Optional.
   */
  readBlocks?(blocks: readonly number[], reuse?: ArrayBuffer | null): KvArray;
  writeBlock?(block: number, data: KvArray, index: number): void;
  close(): Promise<void>;
}
