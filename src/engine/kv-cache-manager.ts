/**
 * Per-sequence KV block bookkeeping on top of the block pool (after vLLM v1's
 * kv_cache_manager.py): prefix-cache lookup, slot allocation for the tokens scheduled this step,
 * copy-on-write of a shared partial block, forking, and registering full computed blocks.
 *
 * Blocks are registered in the prefix cache only after the step that computed them has run, so
 * a prefix hit never points at KV that is still being written by the same batch.
 */
import { hash } from 'node:crypto';
import type { BlockPool } from './block-pool.js';
import type { Sequence } from './sequence.js';

export interface PrefixHit {
  blocks: number[];
  numTokens: number;
}

const NO_HIT: PrefixHit = Object.freeze({ blocks: [], numTokens: 0 }) as PrefixHit;

/** The bytes one block hash reads: the parent's digest, then the block's int32 token ids. */
let hashInput = new Int32Array(8 + 16);

/**
 * Chain hash of one full block (`tokenIds[from, to)`): SHA-256 of its parent's digest and its
 * own token ids, like vLLM's `sha256` prefix hash (a weaker one would let a crafted prompt
 * collide with another client's cached prefix). One-shot `crypto.hash` over a reused buffer: a
 * cold burst of 32 requests behind a 512-token system prompt hashes ~1,000 blocks on the
 * scheduling path, and `createHash` objects took 3.6–7.5 ms for them against 1.2–1.9 ms.
 */
export function hashBlock(
  parentHash: string,
  tokenIds: readonly number[],
  from = 0,
  to = tokenIds.length,
): string {
  const n = to - from;
  if (hashInput.length < 8 + n) hashInput = new Int32Array(8 + n);
  const bytes = Buffer.from(hashInput.buffer, 0, 32 + 4 * n);
  if (parentHash === '') bytes.fill(0, 0, 32);
  else bytes.write(parentHash, 0, 32, 'base64');
  for (let i = 0; i < n; i++) hashInput[8 + i] = tokenIds[from + i];
  return hash('sha256', bytes, 'base64');
}

export class KvCacheManager {
  /**
   * Per block, how many times it has been handed out: lets a second KV store kept under the same
   * block ids (the draft model's) tell whether what it wrote into a block is still that block's
   * content.
   */
  private readonly generations: Uint32Array;

  constructor(
    readonly pool: BlockPool,
    readonly blockSize: number,
    readonly enablePrefixCaching: boolean,
    private readonly copyBlock: (src: number, dst: number) => void,
  ) {
    this.generations = new Uint32Array(pool.numBlocks);
  }

  generation(block: number): number {
    return this.generations[block];
  }

  blocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  /**
   * The longest chain of cached full blocks matching the sequence's tokens. Never the whole
   * sequence: its last token must be computed to produce logits.
   */
  findPrefixHit(seq: Sequence): PrefixHit {
    if (!this.enablePrefixCaching || seq.numTokens < 2) return NO_HIT;
    const maxBlocks = Math.floor((seq.numTokens - 1) / this.blockSize);
    this.ensureHashes(seq, maxBlocks);
    const blocks: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const block = this.pool.lookup(seq.blockHashes[i]);
      if (block === undefined) break;
      blocks.push(block);
    }
    return blocks.length === 0 ? NO_HIT : { blocks, numTokens: blocks.length * this.blockSize };
  }

  /**
   * Makes room for `numNewTokens` more computed tokens. With a prefix hit (only for a sequence
   * holding no blocks) the hit blocks are taken first and numComputedTokens jumps past them.
   * Returns false, changing nothing, when the pool cannot supply the blocks.
   */
  allocateSlots(seq: Sequence, numNewTokens: number, hit: PrefixHit = NO_HIT): boolean {
    if (hit.blocks.length > 0 && (seq.blockIds.length > 0 || seq.numComputedTokens > 0)) {
      throw new Error('prefix hit offered to a sequence that already holds KV');
    }
    const start = hit.blocks.length > 0 ? hit.numTokens : seq.numComputedTokens;
    const held = seq.blockIds.length + hit.blocks.length;
    const newBlocks = Math.max(0, this.blocksFor(start + numNewTokens) - held);
    // The first write lands in a partially filled block shared with a sibling: copy it first.
    const writeBlock = Math.floor(start / this.blockSize);
    const needsCopy =
      numNewTokens > 0 &&
      start % this.blockSize !== 0 &&
      writeBlock < seq.blockIds.length &&
      this.pool.refCount(seq.blockIds[writeBlock]) > 1;
    let revived = 0;
    for (const b of hit.blocks) if (this.pool.refCount(b) === 0) revived++;
    if (newBlocks + (needsCopy ? 1 : 0) > this.pool.numFreeBlocks - revived) return false;

    for (const b of hit.blocks) {
      this.pool.touch(b);
      seq.blockIds.push(b);
    }
    if (hit.blocks.length > 0) {
      seq.numComputedTokens = hit.numTokens;
      seq.numCachedBlocks = hit.blocks.length;
    }
    if (needsCopy) {
      const shared = seq.blockIds[writeBlock];
      const own = this.allocate();
      this.copyBlock(shared, own);
      this.pool.free(shared);
      seq.blockIds[writeBlock] = own;
    }
    for (let i = 0; i < newBlocks; i++) seq.blockIds.push(this.allocate());
    return true;
  }

  /**
   * Frees the blocks past those covering `numTokens` (rejected speculative tokens), so between
   * steps a sequence again holds exactly the blocks of its computed tokens. Those blocks were
   * never full and computed, so none of them is in the prefix cache.
   */
  trim(seq: Sequence, numTokens: number): void {
    const keep = this.blocksFor(numTokens);
    if (seq.blockIds.length <= keep) return;
    this.pool.freeAll(seq.blockIds.slice(keep));
    seq.blockIds.length = keep;
  }

  /**
   * Hashes of the sequence's full prompt blocks it has yet to compute (known once it was looked
   * up for a prefix hit): a request needing one of them should wait for this sequence to cache
   * it rather than compute it a second time.
   */
  pendingBlockHashes(seq: Sequence): readonly string[] {
    if (!this.enablePrefixCaching) return [];
    return seq.blockHashes.slice(Math.floor(seq.numComputedTokens / this.blockSize));
  }

  /** The hash of the first block after a prefix hit, when the sequence has a full block there. */
  blockHashAfter(seq: Sequence, hit: PrefixHit): string | undefined {
    if (!this.enablePrefixCaching) return undefined;
    return seq.blockHashes[hit.blocks.length];
  }

  /** Offers the sequence's newly completed full blocks to the prefix cache. */
  cacheComputedBlocks(seq: Sequence): void {
    if (!this.enablePrefixCaching) return;
    const numFull = Math.floor(seq.numComputedTokens / this.blockSize);
    if (numFull <= seq.numCachedBlocks) return;
    this.ensureHashes(seq, numFull);
    for (let i = seq.numCachedBlocks; i < numFull; i++)
      this.pool.cacheBlock(seq.blockIds[i], seq.blockHashes[i]);
    seq.numCachedBlocks = numFull;
  }

  /** The cached full blocks of `tokens`, from the first, up to the first that is not cached. */
  cachedChain(tokens: readonly number[]): number[] {
    if (!this.enablePrefixCaching) return [];
    const out: number[] = [];
    let parent = '';
    for (let i = 0; (i + 1) * this.blockSize <= tokens.length; i++) {
      parent = hashBlock(parent, tokens, i * this.blockSize, (i + 1) * this.blockSize);
      const block = this.pool.lookup(parent);
      if (block === undefined) break;
      out.push(block);
    }
    return out;
  }

  /**
   * Puts the first `count` full blocks of `tokens`, computed elsewhere (another replica of the
   * model), into the prefix cache: blocks already cached are kept, the others get a free block
   * that `write` fills. Stops when no block is free. Returns how many blocks were written; they
   * are free and cached, like blocks a finished request left behind.
   */
  adoptChain(
    tokens: readonly number[],
    count: number,
    write: (block: number, index: number) => void,
  ): number {
    if (!this.enablePrefixCaching) return 0;
    // Blocks of the chain are held until the end, so filling a later block never evicts them.
    const held: number[] = [];
    let written = 0;
    let parent = '';
    try {
      for (let i = 0; i < count && (i + 1) * this.blockSize <= tokens.length; i++) {
        parent = hashBlock(parent, tokens, i * this.blockSize, (i + 1) * this.blockSize);
        const have = this.pool.lookup(parent);
        if (have !== undefined) {
          this.pool.touch(have);
          held.push(have);
          continue;
        }
        if (this.pool.numFreeBlocks === 0) break;
        const block = this.allocate();
        held.push(block);
        write(block, i);
        this.pool.cacheBlock(block, parent);
        written++;
      }
    } finally {
      this.pool.freeAll(held);
    }
    return written;
  }

  /** The child shares every block of the parent (copy-on-write happens at its first write). */
  fork(parent: Sequence, child: Sequence): void {
    for (const b of parent.blockIds) this.pool.touch(b);
    child.blockIds = parent.blockIds.slice();
    child.blockHashes = parent.blockHashes.slice();
    child.numCachedBlocks = parent.numCachedBlocks;
    child.numComputedTokens = parent.numComputedTokens;
    child.draftComputedTokens = parent.draftComputedTokens;
  }

  /** Releases every block the sequence holds; its KV must be recomputed if it runs again. */
  free(seq: Sequence): void {
    this.pool.freeAll(seq.blockIds);
    seq.blockIds = [];
    seq.numCachedBlocks = 0;
    seq.numComputedTokens = 0;
    seq.draftComputedTokens = null;
  }

  private allocate(): number {
    const block = this.pool.allocate();
    this.generations[block]++;
    return block;
  }

  private ensureHashes(seq: Sequence, numBlocks: number): void {
    const bs = this.blockSize;
    for (let i = seq.blockHashes.length; i < numBlocks; i++) {
      const parent = i === 0 ? '' : seq.blockHashes[i - 1];
      seq.blockHashes.push(hashBlock(parent, seq.tokens, i * bs, (i + 1) * bs));
    }
  }
}
