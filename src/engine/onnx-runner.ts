/**
 * ModelRunner over onnxruntime-node. The graph only knows dense past tensors, so each call
 * gathers its rows' past from their block tables into [rows, kv_heads, past, head_dim] (rows
 * with a shorter past are left-padded and masked out), runs, and scatters the new positions'
 * keys and values from `present` into their blocks. Input and output buffers are reused across
 * steps: ONNX Runtime writes outputs into tensors passed as fetches.
 */
import ort from 'onnxruntime-node';
import { halfToFloat } from './float16.js';
import { planGroups } from './batch-groups.js';
import type { GraphSignature, ModelConfig } from './model-config.js';
import { DecodeCarries, type DenseCarry, type PresentCarry } from './decode-carries.js';
import { CARRY_MAX_TOKENS, DenseKvSets, headroomFor } from './dense-kv-sets.js';
import { PagedKv, allocKv } from './paged-kv.js';
import type { KvArray } from './paged-kv.js';
import { kvBytesPerToken } from './runner-types.js';
import type { KvGeometry, ModelRunner, RunnerSequence, RunnerStepOutput } from './runner-types.js';

export interface OnnxRunnerOptions {
  kvCacheBytes: number;
  blockSize: number;
  /**
   * A session of the same graph with more threads, and when to use it (no other replica of the
   * model has work): see replica-activity.ts.
   */
  wide?: { session: ort.InferenceSession; when: () => boolean };
  /** Rows × context positions per decode call (tests shrink it to exercise split calls). */
  decodeSlots?: number;
  /** Longest rows whose dense past is kept between calls (benchmarks compare with 1). */
  carryMaxTokens?: number;
}

/**
 * Calls with fewer new tokens run on one thread even when the wide session is free. Measured on
 * 2 cores with the shipped chat model, in isolation, 2 threads against 1 (the wide session's
 * pool threads spinning / sleeping): a 1-row decode 0.97–1.08× / 1.32–1.35× the time, 2 rows
 * 0.81× / 1.34×, 4 rows 0.88× / 1.14×, 16 rows 0.88× / 1.04×, a 4-token chunk 0.88× / 1.47×,
 * 64 tokens 0.75× / 1.00×, 128 tokens 0.77× / 1.10×, 256 tokens 0.70× / 0.92×, and a 512-token
 * prefill 23.9–25.8 ms / 26.9–30.6 ms (37 ms after 1.5 s idle) against 35–36 ms on one.
 * Spinning made small calls faster too, but with the threshold at 2 tokens nothing measured
 * better end to end: a 32-stream burst's tokens/s came out 0.94–0.99× in three alternating
 * pairs (the wide session runs in a burst's tail, beside the service thread), and the
 * benchmark's single-stream time per token 1.05× the reference loop's in its one run (runs at
 * 256 gave 0.82–1.06×, so that alone proves little). Not settled: only large calls go wide.
 */
export const WIDE_MIN_TOKENS = 256;

/** Grow-only scratch arrays, so steady-state steps allocate nothing large. */
class Scratch {
  private readonly f = new Map<string, KvArray>();
  private readonly i = new Map<string, BigInt64Array>();

  constructor(private readonly dtypeBytes: (name: string) => number) {}

  floats(name: string, n: number): KvArray {
    let a = this.f.get(name);
    if (!a || a.length < n) {
      a = allocKv(this.dtypeBytes(name), Math.max(n, Math.ceil((a?.length ?? 0) * 1.5)));
      this.f.set(name, a);
    }
    return a.subarray(0, n);
  }

  ints(name: string, n: number): BigInt64Array {
    let a = this.i.get(name);
    if (!a || a.length < n) {
      a = new BigInt64Array(Math.max(n, Math.ceil((a?.length ?? 0) * 1.5)));
      this.i.set(name, a);
    }
    return a.subarray(0, n);
  }
}

/** One ONNX Runtime call's shape and the feeds and fetches built so far. */
interface GroupCall {
  rows: RunnerSequence[];
  /** New tokens per row (padded), past slots in use, past width, total slots. */
  S: number;
  P: number;
  W: number;
  T: number;
  isDecode: boolean;
  /** Where each row's past starts in its W slots. */
  offsets: number[];
  feeds: Record<string, ort.Tensor>;
  fetches: Record<string, ort.Tensor>;
}

export function numBlocksFor(
  geometry: KvGeometry,
  kvCacheBytes: number,
  blockSize: number,
): number {
  return Math.floor(kvCacheBytes / (blockSize * kvBytesPerToken(geometry)));
}

export class OnnxRunner implements ModelRunner {
  readonly vocabSize: number;
  readonly blockSize: number;
  readonly numBlocks: number;
  readonly geometry: KvGeometry;
  readonly kv: PagedKv;
  private readonly scratch: Scratch;
  private readonly kvType: 'float32' | 'float16';
  private readonly keepDims: number[] | null;
  private readonly decodeSlots: number | undefined;
  private readonly carryMaxTokens: number;
  private closed = false;
  /**
   * The previous execute's short calls and their dense pasts. When a call has exactly the rows
   * of one of them, that past already is its past: no gather needed.
   */
  private readonly carries: DecodeCarries;
  /** Per decode call slot, the buffer set its presents went to last time (they alternate). */
  private readonly slotSet: number[] = [];
  /** Past buffers for graphs with `new_key_values` outputs. */
  private readonly denseSets: DenseKvSets;
  /**
   * ONNX Runtime calls, how many of them reused the previous decode's presents, and how many ran
   * on the wide session.
   */
  readonly counters = { calls: 0, carriedCalls: 0, wideCalls: 0 };

  /** Dense past buffers allocated so far (reused ones not counted). */
  get denseSetsAllocated(): number {
    return this.denseSets.allocated;
  }
  private readonly wide: OnnxRunnerOptions['wide'];

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: ModelConfig,
    private readonly sig: GraphSignature,
    options: OnnxRunnerOptions,
  ) {
    this.kvType = sig.kvDtype;
    this.geometry = {
      numLayers: config.numLayers,
      numKvHeads: config.numKvHeads,
      headDim: config.headDim,
      dtypeBytes: sig.kvDtype === 'float16' ? 2 : 4,
    };
    this.vocabSize = config.vocabSize;
    this.blockSize = options.blockSize;
    this.numBlocks = numBlocksFor(this.geometry, options.kvCacheBytes, options.blockSize);
    if (this.numBlocks < 1) {
      throw new Error(
        `the KV cache budget (${options.kvCacheBytes} bytes) is smaller than one block of ${options.blockSize} tokens`,
      );
    }
    this.kv = new PagedKv(this.geometry, this.numBlocks, this.blockSize);
    this.decodeSlots = options.decodeSlots;
    this.wide = options.wide;
    this.carryMaxTokens = options.carryMaxTokens ?? CARRY_MAX_TOKENS;
    const kvBytes = this.geometry.dtypeBytes;
    const logitsBytes = sig.logitsDtype === 'float16' ? 2 : 4;
    this.scratch = new Scratch((name) => (name === 'logits' ? logitsBytes : kvBytes));
    this.denseSets = new DenseKvSets(config.numLayers, (n) => allocKv(kvBytes, n));
    this.carries = new DecodeCarries(this.denseSets);
    const keep = sig.numLogitsToKeep
      ? session.inputMetadata.find((m) => m.name === sig.numLogitsToKeep)
      : undefined;
    this.keepDims = keep && keep.isTensor ? keep.shape.map(() => 1) : null;
  }

  /**
   * The session for a call of `tokens` new tokens (rows × padded length): the wide one for a
   * large call while this replica has the cores alone.
   */
  private sessionForCall(tokens: number): ort.InferenceSession {
    if (this.wide && tokens >= WIDE_MIN_TOKENS && this.wide.when()) {
      this.counters.wideCalls++;
      return this.wide.session;
    }
    return this.session;
  }

  async execute(sequences: RunnerSequence[]): Promise<RunnerStepOutput> {
    if (this.closed) throw new Error('the model runner is closed');
    const logits = new Map<number, Float32Array>();
    this.carries.begin(sequences);
    let decodeSlot = 0;
    let index = 0;
    for (const group of planGroups(sequences, this.sig.positionIds !== null, this.decodeSlots)) {
      const isDecode = group.every((r) => r.tokenIds.length === 1);
      await this.runGroup(group, logits, isDecode ? decodeSlot++ : -1, index++);
    }
    this.carries.end();
    return { logits };
  }

  /**
   * `slot` numbers this execute's decode calls (-1 for other calls); `index` all its calls (each
   * writes its logits to its own buffer, which the returned rows view until the next execute).
   */
  private async runGroup(
    rows: RunnerSequence[],
    out: Map<number, Float32Array>,
    slot: number,
    index: number,
  ): Promise<void> {
    const { numLayers } = this.geometry;
    const B = rows.length;
    let S = 0;
    let P = 0;
    let keep = 1;
    for (const r of rows) {
      const len = r.tokenIds.length;
      if (len === 0) throw new Error(`sequence ${r.seqId} has no tokens to compute`);
      const needBlocks = Math.ceil((r.startPosition + len) / this.blockSize);
      if (r.blockTable.length < needBlocks) {
        throw new Error(
          `sequence ${r.seqId}: block table has ${r.blockTable.length} blocks, needs ${needBlocks}`,
        );
      }
      if (r.startPosition + len > this.config.contextLength) {
        throw new Error(
          `sequence ${r.seqId} runs past the model's context length ${this.config.contextLength}`,
        );
      }
      S = Math.max(S, len);
      P = Math.max(P, r.startPosition);
      keep = Math.max(keep, r.numLogits);
    }
    const isDecode = slot >= 0;
    const inPlace = this.sig.newKv !== null;
    // With `new_key_values` a short call's past buffer has spare slots [P, W) that later steps
    // fill in place; graphs that return `present` carry decode calls' presents (W = P).
    const carries = inPlace && S <= this.carryMaxTokens;
    const dense = carries ? this.carries.findDense(rows) : null;
    const present = !inPlace && isDecode ? this.carries.findPresent(rows, P) : null;
    const W = dense ? dense.width : carries ? P + headroomFor(S) : P;
    // A fresh past is right-aligned at P (shorter rows left-padded); a carried one stays put.
    const offsets = dense ? dense.offsets : rows.map((r) => P - r.startPosition);
    const T = W + S;
    const L = this.sig.numLogitsToKeep ? keep : S;

    // Row layout over T slots: [pad | past | spare] then [pad | new tokens]; pads and spare slots
    // are masked out, and new tokens end at the last slot so the last logits are always real.
    const ids = this.scratch.ints('input_ids', B * S).fill(0n);
    const pos = this.scratch.ints('position_ids', B * S).fill(0n);
    const mask = this.scratch.ints('attention_mask', B * T).fill(0n);
    rows.forEach((r, b) => {
      const len = r.tokenIds.length;
      const off = b * S + (S - len);
      for (let i = 0; i < len; i++) {
        ids[off + i] = BigInt(r.tokenIds[i]);
        pos[off + i] = BigInt(r.startPosition + i);
      }
      mask.fill(1n, b * T + offsets[b], b * T + offsets[b] + r.startPosition);
      mask.fill(1n, b * T + T - len, b * T + T);
    });

    const feeds: Record<string, ort.Tensor> = {
      [this.sig.inputIds]: new ort.Tensor('int64', ids, [B, S]),
      [this.sig.attentionMask]: new ort.Tensor('int64', mask, [B, T]),
    };
    if (this.sig.positionIds) feeds[this.sig.positionIds] = new ort.Tensor('int64', pos, [B, S]);
    if (this.sig.numLogitsToKeep && this.keepDims) {
      feeds[this.sig.numLogitsToKeep] = new ort.Tensor(
        'int64',
        BigInt64Array.of(BigInt(L)),
        this.keepDims,
      );
    }
    const fetches: Record<string, ort.Tensor> = {};
    const logitsData = this.scratch.floats(`logits.${index}`, B * L * this.vocabSize);
    fetches[this.sig.logits] = new ort.Tensor(this.sig.logitsDtype, logitsData, [
      B,
      L,
      this.vocabSize,
    ]);

    // Where each row's new keys and values come back: [B, H, N, D] with the row's tokens in the
    // last `len` of N slots.
    const call: GroupCall = { rows, S, P, W, T, isDecode, offsets, feeds, fetches };
    const written = inPlace
      ? await this.runInPlace(call, dense, carries)
      : await this.runWithPresent(call, present, slot);
    const N = inPlace ? S : T;
    this.counters.calls++;
    if (dense || present) this.counters.carriedCalls++;

    rows.forEach((r, b) => {
      const len = r.tokenIds.length;
      for (let l = 0; l < numLayers; l++) {
        const [k, v] = written[l];
        this.kv.scatter(this.kv.keys[l], r.blockTable, r.startPosition, len, k, b, N, N - len);
        this.kv.scatter(this.kv.values[l], r.blockTable, r.startPosition, len, v, b, N, N - len);
      }
      if (r.numLogits > 0) {
        const V = this.vocabSize;
        const from = (b * L + (L - r.numLogits)) * V;
        const to = (b * L + L) * V;
        out.set(r.seqId, float32View(logitsData.subarray(from, to)));
      }
    });
  }

  /**
   * Graphs with `new_key_values`: the past comes from a dense buffer (carried from the previous
   * step, or gathered from blocks), and a short call appends its rows' new slots there in place.
   */
  private async runInPlace(
    call: GroupCall,
    carried: DenseCarry | null,
    keep: boolean,
  ): Promise<KvArray[][]> {
    const { numKvHeads: H, headDim: D, numLayers } = this.geometry;
    const { rows, S, P, W, offsets, feeds, fetches } = call;
    const B = rows.length;
    const newKv = this.sig.newKv!;
    const set = carried?.set ?? this.denseSets.take(B * H * W * D);
    if (!carried) {
      for (let l = 0; l < numLayers; l++) {
        rows.forEach((r, b) => {
          this.kv.gather(this.kv.keys[l], r.blockTable, r.startPosition, set.keys[l], b, P, W);
          this.kv.gather(this.kv.values[l], r.blockTable, r.startPosition, set.values[l], b, P, W);
        });
      }
    }
    const written: KvArray[][] = [];
    const size = B * H * W * D;
    for (let l = 0; l < numLayers; l++) {
      const past = this.sig.past[l];
      feeds[past.key] = new ort.Tensor(this.kvType, set.keys[l].subarray(0, size), [B, H, W, D]);
      feeds[past.value] = new ort.Tensor(this.kvType, set.values[l].subarray(0, size), [
        B,
        H,
        W,
        D,
      ]);
      const nk = this.scratch.floats(`new.${l}.k`, B * H * S * D);
      const nv = this.scratch.floats(`new.${l}.v`, B * H * S * D);
      fetches[newKv[l].key] = new ort.Tensor(this.kvType, nk, [B, H, S, D]);
      fetches[newKv[l].value] = new ort.Tensor(this.kvType, nv, [B, H, S, D]);
      written.push([nk, nv]);
    }
    // A carried set is the previous execute's: execute() releases it unless a call keeps it.
    const release = (): void => {
      if (!carried) this.denseSets.release(set);
    };
    try {
      await this.sessionForCall(B * call.S).run(feeds, fetches);
    } catch (err) {
      release();
      throw err;
    }
    // Append each row's new slots after its past, when they fit; the next step's past for the
    // row is then any prefix of [0, start + len).
    const fits = rows.every((r, b) => offsets[b] + r.startPosition + r.tokenIds.length <= W);
    if (!keep || !fits) {
      release();
      return written;
    }
    for (let l = 0; l < numLayers; l++) {
      rows.forEach((r, b) => {
        const at = offsets[b] + r.startPosition;
        const len = r.tokenIds.length;
        appendSlots(set.keys[l], written[l][0], b, H, W, S, at, len, D);
        appendSlots(set.values[l], written[l][1], b, H, W, S, at, len, D);
      });
    }
    this.carries.keep({
      seqIds: rows.map((r) => r.seqId),
      offsets,
      filled: rows.map((r) => r.startPosition + r.tokenIds.length),
      width: W,
      set,
    });
    return written;
  }

  /**
   * Graphs with only `present`: the past is the previous decode call's presents (carried) or
   * gathered from blocks, and the whole present is fetched.
   */
  private async runWithPresent(
    call: GroupCall,
    carried: PresentCarry | null,
    slot: number,
  ): Promise<KvArray[][]> {
    const { numKvHeads: H, headDim: D, numLayers } = this.geometry;
    const { rows, P, T, isDecode, feeds, fetches } = call;
    const B = rows.length;
    // A decode slot's presents alternate between two buffer sets, so the set written last
    // execute (which a carry may be reading now) is never overwritten.
    let bufferName = 'prefill';
    if (isDecode) {
      const next = 1 - (this.slotSet[slot] ?? 1);
      this.slotSet[slot] = next;
      bufferName = `decode.${slot}.${next}`;
    }
    const written: KvArray[][] = [];
    for (let l = 0; l < numLayers; l++) {
      let pk: KvArray;
      let pv: KvArray;
      if (carried) {
        [pk, pv] = carried.presents[l];
      } else {
        pk = this.scratch.floats(`past.${l}.k`, B * H * P * D);
        pv = this.scratch.floats(`past.${l}.v`, B * H * P * D);
        rows.forEach((r, b) => {
          this.kv.gather(this.kv.keys[l], r.blockTable, r.startPosition, pk, b, P);
          this.kv.gather(this.kv.values[l], r.blockTable, r.startPosition, pv, b, P);
        });
      }
      feeds[this.sig.past[l].key] = new ort.Tensor(this.kvType, pk, [B, H, P, D]);
      feeds[this.sig.past[l].value] = new ort.Tensor(this.kvType, pv, [B, H, P, D]);
      const ok = this.scratch.floats(`present.${bufferName}.${l}.k`, B * H * T * D);
      const ov = this.scratch.floats(`present.${bufferName}.${l}.v`, B * H * T * D);
      fetches[this.sig.present[l].key] = new ort.Tensor(this.kvType, ok, [B, H, T, D]);
      fetches[this.sig.present[l].value] = new ort.Tensor(this.kvType, ov, [B, H, T, D]);
      written.push([ok, ov]);
    }
    await this.sessionForCall(B * call.S).run(feeds, fetches);
    if (isDecode) {
      this.carries.keep({
        seqIds: rows.map((r) => r.seqId),
        starts: rows.map((r) => r.startPosition),
        T,
        presents: written,
      });
    }
    return written;
  }

  copyBlock(src: number, dst: number): void {
    this.kv.copyBlock(src, dst);
  }

  readBlocks(blocks: readonly number[], reuse: ArrayBuffer | null = null): KvArray {
    return this.kv.readBlocks(blocks, reuse);
  }

  writeBlock(block: number, data: KvArray, index: number): void {
    this.kv.writeBlock(block, data, index);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
    await this.wide?.session.release();
  }
}

/**
 * Copies row b's `len` new slots (the last `len` of S in src [rows, H, S, D]) into slots
 * [at, at + len) of dst [rows, H, width, D].
 */
function appendSlots(
  dst: KvArray,
  src: KvArray,
  b: number,
  H: number,
  width: number,
  S: number,
  at: number,
  len: number,
  D: number,
): void {
  for (let h = 0; h < H; h++) {
    const to = ((b * H + h) * width + at) * D;
    const from = ((b * H + h) * S + (S - len)) * D;
    const n = len * D;
    // Element by element: a subarray view per copy costs more than a decode's 1 × D copy.
    for (let i = 0; i < n; i++) dst[to + i] = src[from + i];
  }
}

/** float32 logits as they are (a view of the call's buffer); float16 ones converted. */
function float32View(a: KvArray): Float32Array {
  if (a instanceof Float32Array) return a;
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = halfToFloat(a[i]);
  return out;
}
