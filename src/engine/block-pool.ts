/**
 * The KV block pool: a fixed set of block ids, reference-counted, with a free list in eviction
 * order and a hash → block map for prefix reuse (after vLLM v1's block_pool.py).
 *
 * A block whose reference count drops to 0 stays in the free list with its hash: a later prefix
 * hit revives it (`touch`), or `allocate` evicts it (dropping the hash) when it reaches the head.
 * Uncached free blocks go to the head of the list so they are reused before any cached block;
 * cached ones go to the tail, which makes the list LRU over cached content.
 */

const NONE = -1;

export class BlockPool {
  readonly numBlocks: number;
  private readonly refCounts: Int32Array;
  private readonly hashes: (string | null)[];
  private readonly hashToBlock = new Map<string, number>();
  // Doubly linked free list over block ids; inFree marks membership so removal is O(1).
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  private readonly inFree: Uint8Array;
  private head = NONE;
  private tail = NONE;
  private freeCount = 0;
  private evictions = 0;

  constructor(numBlocks: number) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) {
      throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    }
    this.numBlocks = numBlocks;
    this.refCounts = new Int32Array(numBlocks);
    this.hashes = new Array<string | null>(numBlocks).fill(null);
    this.prev = new Int32Array(numBlocks).fill(NONE);
    this.next = new Int32Array(numBlocks).fill(NONE);
    this.inFree = new Uint8Array(numBlocks);
    for (let b = 0; b < numBlocks; b++) this.pushTail(b);
  }

  /** Blocks that can be handed out now (free, cached or not). */
  get numFreeBlocks(): number {
    return this.freeCount;
  }

  /** Blocks referenced by at least one sequence. */
  get numUsedBlocks(): number {
    return this.numBlocks - this.freeCount;
  }

  get numCachedBlocks(): number {
    return this.hashToBlock.size;
  }

  /** Cached blocks whose content was dropped to make room, since the pool was built. */
  get numEvictions(): number {
    return this.evictions;
  }

  refCount(block: number): number {
    return this.refCounts[block];
  }

  hashOf(block: number): string | null {
    return this.hashes[block];
  }

  isFree(block: number): boolean {
    return this.inFree[block] === 1;
  }

  /** Takes the block at the head of the free list (evicting its cached content) with ref 1. */
  allocate(): number {
    const block = this.head;
    if (block === NONE) throw new Error('KV block pool exhausted');
    this.unlink(block);
    const hash = this.hashes[block];
    if (hash !== null) {
      this.hashToBlock.delete(hash);
      this.hashes[block] = null;
      this.evictions++;
    }
    this.refCounts[block] = 1;
    return block;
  }

  /** Adds a holder to a block; a free (cached) block is revived out of the free list. */
  touch(block: number): void {
    if (this.refCounts[block] === 0) this.unlink(block);
    this.refCounts[block]++;
  }

  /** Drops one holder; at 0 the block returns to the free list (head if uncached, tail if cached). */
  free(block: number): void {
    const ref = this.refCounts[block];
    if (ref <= 0) throw new Error(`KV block ${block} freed more times than it was held`);
    this.refCounts[block] = ref - 1;
    if (ref === 1) {
      if (this.hashes[block] === null) this.pushHead(block);
      else this.pushTail(block);
    }
  }

  /**
   * Frees a sequence's blocks. Last blocks first, so the deepest blocks of a cached chain are
   * evicted before their parents (a child is unreachable without its parent anyway).
   */
  freeAll(blocks: readonly number[]): void {
    for (let i = blocks.length - 1; i >= 0; i--) this.free(blocks[i]);
  }

  lookup(hash: string): number | undefined {
    return this.hashToBlock.get(hash);
  }

  /**
   * Registers a full, computed block under its chain hash. Returns false when the block is
   * already cached or another block holds the same content (the first copy stays canonical).
   */
  cacheBlock(block: number, hash: string): boolean {
    if (this.hashes[block] !== null || this.hashToBlock.has(hash)) return false;
    this.hashes[block] = hash;
    this.hashToBlock.set(hash, block);
    return true;
  }

  /** Drops every cached hash of free blocks (e.g. after the model's weights change). */
  resetPrefixCache(): void {
    for (const [hash, block] of this.hashToBlock) {
      if (this.refCounts[block] === 0) {
        this.hashToBlock.delete(hash);
        this.hashes[block] = null;
      }
    }
  }

  /**
   * Throws if the bookkeeping is inconsistent. `holders` lists every block table that holds a
   * reference (one entry per reference), so ref counts can be checked against them.
   */
  checkInvariants(holders?: Iterable<readonly number[]>): void {
    let count = 0;
    let prev = NONE;
    for (let b = this.head; b !== NONE; b = this.next[b]) {
      if (this.prev[b] !== prev) throw new Error(`free list broken at block ${b}`);
      if (this.inFree[b] !== 1)
        throw new Error(`block ${b} is in the free list but not marked free`);
      if (this.refCounts[b] !== 0)
        throw new Error(`block ${b} is free with ref ${this.refCounts[b]}`);
      prev = b;
      if (++count > this.numBlocks) throw new Error('free list has a cycle');
    }
    if (prev !== this.tail) throw new Error('free list tail mismatch');
    if (count !== this.freeCount)
      throw new Error(`free count ${this.freeCount} != list length ${count}`);
    for (let b = 0; b < this.numBlocks; b++) {
      const ref = this.refCounts[b];
      if (ref < 0) throw new Error(`block ${b} has negative ref ${ref}`);
      if ((ref === 0) !== (this.inFree[b] === 1)) {
        throw new Error(`block ${b}: ref ${ref} but free flag ${this.inFree[b]}`);
      }
      const hash = this.hashes[b];
      if (hash !== null && this.hashToBlock.get(hash) !== b) {
        throw new Error(`block ${b} hash not mapped back to it`);
      }
    }
    for (const [hash, block] of this.hashToBlock) {
      if (this.hashes[block] !== hash)
        throw new Error(`hash map points ${hash} at block ${block} with another hash`);
    }
    if (holders !== undefined) {
      const held = new Int32Array(this.numBlocks);
      for (const table of holders) for (const b of table) held[b]++;
      for (let b = 0; b < this.numBlocks; b++) {
        if (held[b] !== this.refCounts[b]) {
          throw new Error(`block ${b}: ref ${this.refCounts[b]} but ${held[b]} holders`);
        }
      }
    }
  }

  private pushTail(b: number): void {
    this.prev[b] = this.tail;
    this.next[b] = NONE;
    if (this.tail === NONE) this.head = b;
    else this.next[this.tail] = b;
    this.tail = b;
    this.inFree[b] = 1;
    this.freeCount++;
  }

  private pushHead(b: number): void {
    this.next[b] = this.head;
    this.prev[b] = NONE;
    if (this.head === NONE) this.tail = b;
    else this.prev[this.head] = b;
    this.head = b;
    this.inFree[b] = 1;
    this.freeCount++;
  }

  private unlink(b: number): void {
    if (this.inFree[b] !== 1) throw new Error(`block ${b} is not free`);
    const p = this.prev[b];
    const n = this.next[b];
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.prev[b] = NONE;
    this.next[b] = NONE;
    this.inFree[b] = 0;
    this.freeCount--;
  }
}
