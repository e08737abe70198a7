/**
 * The paged KV cache storage: per layer, one key pool and one value pool of
 * kvHeads × numBlocks × blockSize × headDim elements (head-major). A block holds blockSize
 * consecutive positions of one sequence for every head. Within one head, consecutive block ids
 * are contiguous, so a sequence whose blocks were allocated together (a prompt's, a prefix handed
 * over) gathers into a dense past in one copy per head and run of consecutive blocks, not one per
 * block: a burst's 16 rows behind a 512-token prompt made 8,192 copies a step block by block.
 */
import type { KvGeometry } from './runner-types.js';

/** The smallest memory page an OS maps (4 KiB; larger pages are multiples of it). */
const PAGE_BYTES = 4096;

/** float32 data, or float16 bit patterns. */
export type KvArray = Float32Array | Uint16Array;

export function allocKv(dtypeBytes: number, length: number): KvArray {
  return dtypeBytes === 2 ? new Uint16Array(length) : new Float32Array(length);
}

/** `length` elements at the start of `buffer`, typed as allocKv would type them. */
function kvView(dtypeBytes: number, buffer: ArrayBuffer, length: number): KvArray {
  return dtypeBytes === 2
    ? new Uint16Array(buffer, 0, length)
    : new Float32Array(buffer, 0, length);
}

export class PagedKv {
  readonly keys: KvArray[] = [];
  readonly values: KvArray[] = [];
  /** Elements per block in one pool (every head's). */
  readonly blockElems: number;
  /** Elements of one head in one block. */
  private readonly headElems: number;
  /** Elements of one head across all blocks. */
  private readonly headStride: number;
  /** Every layer's key pool, then every value pool: the order readBlocks lays blocks out in. */
  private readonly pools: KvArray[];

  constructor(
    readonly geometry: KvGeometry,
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.headElems = blockSize * geometry.headDim;
    this.blockElems = geometry.numKvHeads * this.headElems;
    this.headStride = numBlocks * this.headElems;
    for (let l = 0; l < geometry.numLayers; l++) {
      this.keys.push(allocKv(geometry.dtypeBytes, numBlocks * this.blockElems));
      this.values.push(allocKv(geometry.dtypeBytes, numBlocks * this.blockElems));
    }
    this.pools = [...this.keys, ...this.values];
  }

  /**
   * Writes every memory page of the pools once. A new typed array's pages are mapped on first
   * write, and a block's first use would otherwise fault its pages in the middle of a step: the
   * pool hands out never-used blocks before evicting cached ones, so a young engine writes into
   * fresh pages for its first thousands of blocks. Measured on 2 cores (first touch ~12 µs per
   * 4 KiB page here): writing a 32-stream burst's new slots took 11–14 µs a row per step against
   * 6.7–9.8 µs with the pages written at load, which took 170–240 ms per 128 MiB replica; the
   * page faults per burst fell from ~1,500–5,800 to mostly under 1,000. llama.cpp likewise
   * clears its KV buffer when it allocates it. `onProgress` gets the fraction done.
   */
  commitPages(onProgress?: (fraction: number) => void): void {
    const stride = PAGE_BYTES / this.geometry.dtypeBytes;
    this.pools.forEach((pool, i) => {
      for (let at = 0; at < pool.length; at += stride) pool[at] = 0;
      onProgress?.((i + 1) / this.pools.length);
    });
  }

  get bytes(): number {
    return (
      2 * this.geometry.numLayers * this.numBlocks * this.blockElems * this.geometry.dtypeBytes
    );
  }

  /**
   * Copies positions [0, pastLen) of a sequence into a dense [rows, heads, width, headDim]
   * tensor at `row`, ending at slot P (slots P - pastLen .. P - 1; width defaults to P); the left
   * padding is zeroed so masked slots never hold NaN from an earlier step.
   */
  gather(
    pool: KvArray,
    blockTable: readonly number[],
    pastLen: number,
    dst: KvArray,
    row: number,
    P: number,
    width = P,
  ): void {
    const { numKvHeads: H, headDim: D } = this.geometry;
    const bs = this.blockSize;
    const pad = P - pastLen;
    for (let h = 0; h < H; h++) {
      const rowBase = (row * H + h) * width * D;
      if (pad > 0) dst.fill(0, rowBase, rowBase + pad * D);
      for (let pos = 0, bi = 0; pos < pastLen;) {
        // One copy for a run of consecutive block ids.
        const first = blockTable[bi];
        let blocks = 1;
        while (pos + blocks * bs < pastLen && blockTable[bi + blocks] === first + blocks) blocks++;
        const n = Math.min(blocks * bs, pastLen - pos);
        const src = h * this.headStride + first * this.headElems;
        dst.set(pool.subarray(src, src + n * D), rowBase + (pad + pos) * D);
        pos += n;
        bi += blocks;
      }
    }
  }

  /**
   * Writes `count` positions starting at absolute position `start` from a dense
   * [rows, heads, T, headDim] tensor (row `row`, slots from `slot`) into their blocks.
   */
  scatter(
    pool: KvArray,
    blockTable: readonly number[],
    start: number,
    count: number,
    src: KvArray,
    row: number,
    T: number,
    slot: number,
  ): void {
    const { numKvHeads: H, headDim: D } = this.geometry;
    const bs = this.blockSize;
    if (count === 1) {
      // A decode token: one head-sized copy per head, element by element (a subarray view per
      // copy costs more than the copy itself at this size).
      const base = blockTable[Math.floor(start / bs)] * this.headElems + (start % bs) * D;
      for (let h = 0; h < H; h++) {
        const from = ((row * H + h) * T + slot) * D;
        const to = base + h * this.headStride;
        for (let d = 0; d < D; d++) pool[to + d] = src[from + d];
      }
      return;
    }
    for (let h = 0; h < H; h++) {
      const rowBase = ((row * H + h) * T + slot) * D;
      let i = 0;
      while (i < count) {
        const pos = start + i;
        const offset = pos % bs;
        const n = Math.min(bs - offset, count - i);
        const dst =
          h * this.headStride + blockTable[Math.floor(pos / bs)] * this.headElems + offset * D;
        pool.set(src.subarray(rowBase + i * D, rowBase + (i + n) * D), dst);
        i += n;
      }
    }
  }

  copyBlock(srcBlock: number, dstBlock: number): void {
    const e = this.headElems;
    for (const pool of this.pools) {
      for (let h = 0; h < this.geometry.numKvHeads; h++) {
        const base = h * this.headStride;
        pool.copyWithin(base + dstBlock * e, base + srcBlock * e, base + srcBlock * e + e);
      }
    }
  }

  /**
   * The blocks' keys and values, block after block (each: every layer's keys, then values; each
   * of those head by head). Written into `reuse` when it is large enough: a megabyte of fresh
   * memory per 512 tokens page-faults as it is written (3.8–6.7 ms against 0.6 ms for an export
   * into memory already paged in, measured on 2 cores).
   */
  readBlocks(blocks: readonly number[], reuse: ArrayBuffer | null = null): KvArray {
    const e = this.blockElems;
    const he = this.headElems;
    const n = blocks.length * this.pools.length * e;
    const bytes = this.geometry.dtypeBytes;
    // Written whole below, so a reused buffer's old contents never show.
    const out =
      reuse && reuse.byteLength >= n * bytes ? kvView(bytes, reuse, n) : allocKv(bytes, n);
    blocks.forEach((b, i) => {
      this.pools.forEach((pool, j) => {
        for (let h = 0; h < this.geometry.numKvHeads; h++) {
          const from = h * this.headStride + b * he;
          out.set(pool.subarray(from, from + he), (i * this.pools.length + j) * e + h * he);
        }
      });
    });
    return out;
  }

  /** Writes block `index` of what readBlocks returned (from a pool of the same geometry) into `block`. */
  writeBlock(block: number, data: KvArray, index: number): void {
    const e = this.blockElems;
    const he = this.headElems;
    const base = index * this.pools.length * e;
    this.pools.forEach((pool, j) => {
      for (let h = 0; h < this.geometry.numKvHeads; h++) {
        const from = base + j * e + h * he;
        pool.set(data.subarray(from, from + he), h * this.headStride + block * he);
      }
    });
  }
}
