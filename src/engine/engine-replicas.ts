/**
 * Engine replicas: one model version served by several engine workers, each with its own ONNX
 * Runtime session, threads and share of the KV budget, with requests spread over them (Triton's
 * model instance groups; the spreading follows SGLang's cache-aware router).
 *
 * Why: on CPU a small model's ops are too small for intra-op threads to pay. Measured on the
 * shipped chat model, 2 cores, a 32-stream burst (128 + 128 tokens): one session ran as fast on
 * one thread as on two (~1.1 cores busy either way), and two single-thread sessions with 16
 * streams each served ~1.7× the tokens per second of one two-thread session with 32. Models
 * above AUTO_MAX_MODEL_BYTES are left alone: unmeasured, and each replica copies the weights.
 */
import { ReplicaLoads } from './replica-activity.js';
import { BusyError } from '../shared/errors.js';
import type { HfModelTokenizer } from './model-tokenizer.js';
import type { KvArray } from './paged-kv.js';
import type { Engine, EngineStats, GenerateOutput, GenerateRequest, ModelInfo } from './types.js';

/** What `loadEngine` returns, one worker or several: the Engine plus what benchmarks read. */
export interface LocalEngine extends Engine {
  readonly tokenizer: HfModelTokenizer;
  /** A fresh stats snapshot (answered between steps). */
  refreshStats(): Promise<EngineStats>;
}

/** A replica's cached blocks in transit: `blocks` full blocks' keys and values. */
export interface PrefixBlocks {
  blocks: number;
  data: KvArray;
}

/** What an import wrote, and its buffer back for a later export to write into. */
export interface ImportedPrefix {
  written: number;
  spent: ArrayBuffer | null;
}

/** The part of one worker's engine the replicas use (EngineHost). */
export interface ReplicaEngine extends LocalEngine {
  /** Why the worker stopped serving, or null while it serves. */
  readonly failed: Error | null;
  /**
   * The cached full blocks that start `tokenIds`; with `whenComputed`, once a request there
   * that is computing them has done so. Written into `reuse` (moved to the worker) when it is
   * large enough.
   */
  exportPrefix(
    tokenIds: number[],
    whenComputed?: boolean,
    reuse?: ArrayBuffer | null,
  ): Promise<PrefixBlocks>;
  /**
   * Caches another replica's blocks; resolves to the number written and the spent buffer.
   * Posted at once: requests submitted after the call are applied after the import.
   */
  importPrefix(tokenIds: number[], blocks: PrefixBlocks): Promise<ImportedPrefix>;
}

/** Spent hand-off buffers kept for reuse (a few concurrent hand-offs' worth). */
const MAX_SPENT_HAND_OFFS = 4;

/** Auto never makes more replicas than this: two is what was measured (2 cores). */
export const AUTO_MAX_REPLICAS = 2;
/**
 * Auto replicates only models whose ONNX files are at most this large. A replica holds its own
 * copy of the weights, and a large model's matmuls are big enough for intra-op threads to share
 * well; the shipped models are 3–17 MB.
 */
export const AUTO_MAX_MODEL_BYTES = 256 * 1024 * 1024;

export interface ReplicaPlanInput {
  /** The setting: 0 = auto. */
  requested: number;
  /** The threads setting: cores the model may use, 0 = every core. */
  threads: number;
  cores: number;
  /** Bytes of the model's ONNX files. */
  modelBytes: number;
  /** The provider the session will use is the CPU (no accelerator is a candidate). */
  onCpu: boolean;
}

export interface ReplicaPlan {
  replicas: number;
  /** Threads of each replica's session; 0 (one replica only) = every core. */
  threadsPerReplica: number;
  /**
   * Threads of each replica's second session, used while no other replica has work (one
   * stream, a long prompt's prefill); 0 = none. See replica-activity.ts.
   */
  wideThreads: number;
  reason: string;
}

/**
 * How many replicas, with how many threads each. Pure, so the choice is tested without cores.
 *
 * The usable threads (the setting, or every core) are split between the replicas: two busy
 * replicas on one thread each served 32 streams faster than on two each (9.3–9.6× the reference
 * loop against 7.1–8.2×, 2 cores, `npm run bench -- --threads N --replicas 2`; oversubscribed
 * pool threads wait for each other; those runs' prompts repeated earlier rounds' and were partly
 * served from the prefix cache, so the multiples are high). A replica alone gets them all for
 * its large steps through its wide session (see WIDE_MIN_TOKENS in onnx-runner.ts): a 512-token
 * prefill took 24–26 ms on 2 spinning threads against 35–36 ms on one.
 */
export function planReplicas(i: ReplicaPlanInput): ReplicaPlan {
  const usable = i.threads > 0 ? i.threads : Math.max(1, i.cores);
  const split = (replicas: number, reason: string): ReplicaPlan => {
    const each = Math.max(1, Math.floor(usable / replicas));
    return { replicas, threadsPerReplica: each, wideThreads: usable > each ? usable : 0, reason };
  };
  const one = (reason: string): ReplicaPlan => ({
    replicas: 1,
    threadsPerReplica: i.threads,
    wideThreads: 0,
    reason,
  });
  if (i.requested > 0) {
    return i.requested === 1
      ? one('replicas: 1 as set')
      : split(i.requested, `replicas: ${i.requested} as set`);
  }
  if (!i.onCpu) return one('replicas: 1 (an accelerator may run the model)');
  if (usable < 2) return one('replicas: 1 (one thread)');
  if (i.modelBytes > AUTO_MAX_MODEL_BYTES) {
    return one(
      `replicas: 1 (model larger than ${AUTO_MAX_MODEL_BYTES / 1024 / 1024} MiB: threads share it)`,
    );
  }
  const replicas = Math.min(AUTO_MAX_REPLICAS, usable);
  return split(replicas, `replicas: ${replicas} (small model on CPU, ${usable} cores)`);
}

/**
 * ONNX Runtime sessions (copies of the weights) a model of `modelBytes` may get with these
 * options: its replicas, two sessions each when they have a wide one. Before the provider is
 * known (assumes the CPU, so an upper bound): for memory estimates made before loading.
 */
export function sessionsAtMost(
  options: { replicas?: number; threads: number },
  modelBytes: number,
  cores: number,
): number {
  if (options.replicas === undefined) return 1;
  const plan = planReplicas({
    requested: options.replicas,
    threads: options.threads,
    cores,
    modelBytes,
    onCpu: true,
  });
  return plan.replicas * (plan.wideThreads > 0 ? 2 : 1);
}

/**
 * A replica may carry this many more requests than the least loaded one and still be chosen for
 * the prefix it holds. Small: a replica left idle costs more than computing a shared prefix
 * once more (after which both hold it and share the load evenly).
 */
export const AFFINITY_SLACK = 2;
/** Prefix-block hashes remembered per replica (a few hundred thousand tokens' worth). */
const REMEMBERED_BLOCKS = 16_384;

/** One hash per full block of the prompt, each covering every token before the block's end. */
export function prefixHashes(tokens: readonly number[], blockSize: number): number[] {
  const out: number[] = [];
  let a = 0x811c9dc5;
  let b = 0x1234567;
  for (let i = 0; i < tokens.length; i++) {
    a = Math.imul(a ^ tokens[i], 0x01000193) >>> 0;
    b = Math.imul(b ^ (tokens[i] + 0x9e37), 0x5bd1e995) >>> 0;
    if ((i + 1) % blockSize === 0) out.push(a * 0x200000 + (b & 0x1fffff));
  }
  return out;
}

/** What a replica holds, or will hold, of a prefix block: ready once it is computed there. */
export interface HeldBlock {
  ready: Promise<void>;
  /** Set once `ready` resolved. */
  done: boolean;
  /** Arrives from another replica (a hand-off) rather than being computed here. */
  handedOff: boolean;
}

/** A HeldBlock that becomes done when `ready` resolves. */
export function heldBlock(ready: Promise<void>, handedOff: boolean): HeldBlock {
  const block: HeldBlock = { ready, done: false, handedOff };
  void ready.then(() => (block.done = true));
  return block;
}

export interface Route {
  replica: number;
  /** Leading prompt blocks the replica holds. */
  match: number;
  /**
   * Another replica that holds, or is computing, at least HAND_OFF_MIN_BLOCKS more of them, or
   * -1. One still receiving them from a third is no donor. Waiting for a prefix the donor is
   * computing beats computing it again at the same time: a burst of 32 behind a new 512-token
   * prompt, the first replica computing it alone on every core (its wide session) and sending
   * it over, against each replica computing it on its own thread beside the other: time to
   * first token p50 78–116 ms against 83–139 ms, the cache-off/on ratio 4.5–5.4 against
   * 3.7–4.7 (medians of 6–9 rounds in 6 runs, three engines loaded and taking turns). An earlier
   * try lost (75–91 against 68–81 ms): the import was copied rather than moved, the requests
   * waited for its reply, and the donor's next step still ran on every core beside the other's.
   */
  donor: number;
  donorMatch: number;
  /** The donor is still computing them: its export is answered when they are computed. */
  donorComputing: boolean;
  hashes: number[];
}

/**
 * A prefix another replica holds is handed off (its blocks copied over) when it is at least this
 * many blocks longer than what the chosen replica holds; shorter ones are computed again.
 */
export const HAND_OFF_MIN_BLOCKS = 4;

/**
 * Picks a replica per request: among those at most AFFINITY_SLACK requests above the least
 * loaded, the one that served the longest prefix of this prompt most recently (its KV blocks
 * are likely still cached there), then the least loaded, then the first. Ties go to the first
 * rather than in turn: one user's requests one after another then stay on one replica, whose
 * weights and buffers are still in the CPU's caches (in turn, a single stream's time per token
 * was ~6 % slower, measured in one process against one replica). When a busier replica holds
 * a longer prefix, the route names it as the donor of a hand-off. Collisions of the hashes
 * only cost a cache miss, never a wrong answer: each replica checks its own blocks.
 */
export class ReplicaRouter {
  private readonly held: Array<Map<number, HeldBlock>>;

  constructor(
    readonly replicas: number,
    private readonly blockSize: number,
    /** Off without prefix caching: then no replica holds anything worth going to. */
    private readonly affinity = true,
  ) {
    this.held = Array.from({ length: replicas }, () => new Map<number, HeldBlock>());
  }

  /** `load[r]` is replica r's requests in flight; Infinity marks one that cannot serve. */
  route(prompt: readonly number[], load: readonly number[]): Route | null {
    const hashes = this.affinity ? prefixHashes(prompt, this.blockSize) : [];
    const matches = this.held.map((held) => {
      let match = 0;
      while (match < hashes.length && held.has(hashes[match])) match++;
      return match;
    });
    const min = Math.min(...load);
    let best = -1;
    for (let r = 0; r < this.replicas; r++) {
      if (!Number.isFinite(load[r]) || load[r] > min + AFFINITY_SLACK) continue;
      if (
        best < 0 ||
        matches[r] > matches[best] ||
        (matches[r] === matches[best] && load[r] < load[best])
      )
        best = r;
    }
    if (best < 0) return null;
    let donor = -1;
    for (let r = 0; r < this.replicas; r++) {
      if (r === best || !Number.isFinite(load[r])) continue;
      while (matches[r] > 0) {
        const block = this.held[r].get(hashes[matches[r] - 1])!;
        if (block.done || !block.handedOff) break;
        matches[r]--;
      }
      if (
        matches[r] >= matches[best] + HAND_OFF_MIN_BLOCKS &&
        (donor < 0 || matches[r] > matches[donor])
      )
        donor = r;
    }
    return {
      replica: best,
      match: matches[best],
      donor,
      donorMatch: donor < 0 ? 0 : matches[donor],
      donorComputing: donor >= 0 && !this.held[donor].get(hashes[matches[donor] - 1])!.done,
      hashes,
    };
  }

  heldBlock(replica: number, hash: number): HeldBlock | undefined {
    return this.held[replica].get(hash);
  }

  /**
   * Records that `replica` holds the route's blocks [from, to) as `block` says (the ones before
   * `from` keep what they were, and every one counts as recently used).
   */
  remember(replica: number, hashes: readonly number[], from: number, to: number, block: HeldBlock) {
    const held = this.held[replica];
    for (let i = 0; i < Math.min(to, hashes.length); i++) {
      const h = hashes[i];
      const entry = i < from ? (held.get(h) ?? block) : block;
      held.delete(h);
      held.set(h, entry);
    }
    // Maps iterate in insertion order: the first keys are the least recently used.
    for (const h of held.keys()) {
      if (held.size <= REMEMBERED_BLOCKS) break;
      held.delete(h);
    }
  }
}

/** Several replicas' stats as one engine's. */
export function sumStats(all: readonly EngineStats[]): EngineStats {
  const first = all[0];
  const sum = (f: (s: EngineStats) => number): number => all.reduce((a, s) => a + f(s), 0);
  const totalBlocks = sum((s) => s.kv.totalBlocks);
  const usedBlocks = sum((s) => s.kv.usedBlocks);
  const queried = sum((s) => s.prefixCache.queriedTokens);
  const hit = sum((s) => s.prefixCache.hitTokens);
  const proposed = sum((s) => s.speculative.proposed);
  const accepted = sum((s) => s.speculative.accepted);
  const verifications = sum((s) => s.speculative.verifications);
  const finished = { ...first.counters.finished };
  for (const s of all.slice(1)) {
    for (const [k, v] of Object.entries(s.counters.finished) as Array<
      [keyof typeof finished, number]
    >)
      finished[k] = (finished[k] ?? 0) + v;
  }
  return {
    running: sum((s) => s.running),
    waiting: sum((s) => s.waiting),
    kv: {
      blockSize: first.kv.blockSize,
      totalBlocks,
      usedBlocks,
      usage: totalBlocks === 0 ? 0 : usedBlocks / totalBlocks,
      bytesPerToken: first.kv.bytesPerToken,
      capacityTokens: sum((s) => s.kv.capacityTokens),
    },
    prefixCache: {
      queriedTokens: queried,
      hitTokens: hit,
      hitRate: queried === 0 ? 0 : hit / queried,
    },
    counters: {
      promptTokens: sum((s) => s.counters.promptTokens),
      generationTokens: sum((s) => s.counters.generationTokens),
      steps: sum((s) => s.counters.steps),
      preemptions: sum((s) => s.counters.preemptions),
      finished,
    },
    speculative: {
      proposed,
      accepted,
      verifications,
      acceptanceRate: proposed === 0 ? 0 : accepted / proposed,
      meanAcceptedLength: verifications === 0 ? 0 : (verifications + accepted) / verifications,
    },
  };
}

/** The replicas of one model version behind one Engine. */
export class ReplicatedEngine implements LocalEngine {
  readonly info: ModelInfo;
  readonly tokenizer: HfModelTokenizer;
  private readonly router: ReplicaRouter;
  private readonly inFlight: number[];
  /** inFlight less the requests still waiting for a prefix hand-off. */
  private readonly submitted: number[];
  /** Requests submitted per replica, for the replicas to read (replica-activity.ts). */
  private readonly loads: ReplicaLoads | null;
  private readonly blockSize: number;
  private readonly handOffs = { count: 0, blocks: 0 };
  /**
   * Buffers of finished hand-offs, for the next export to write into: memory already paged in
   * (see PagedKv.readBlocks). They pass between threads by transfer, so one buffer is only ever
   * in one place.
   */
  private readonly spentHandOffs: ArrayBuffer[] = [];

  constructor(
    private readonly replicas: readonly ReplicaEngine[],
    plan: ReplicaPlan,
    prefixCaching: boolean,
    /** The replicas' shared in-flight counts (replica-activity.ts), when they read them. */
    activity?: SharedArrayBuffer,
  ) {
    const first = replicas[0];
    this.info = {
      ...first.info,
      replicas: replicas.length,
      threadsPerReplica: plan.threadsPerReplica,
      replicasReason: plan.reason,
    };
    this.tokenizer = first.tokenizer;
    this.blockSize = first.stats().kv.blockSize;
    this.router = new ReplicaRouter(replicas.length, this.blockSize, prefixCaching);
    this.inFlight = replicas.map(() => 0);
    this.submitted = replicas.map(() => 0);
    this.loads = activity ? new ReplicaLoads(activity) : null;
  }

  /** Each replica's own stats (the engine's stats() sums them). */
  replicaStats(): EngineStats[] {
    return this.replicas.map((r) => r.stats());
  }

  /** Prefixes handed from one replica to another, and the blocks that arrived. */
  handOffStats(): { count: number; blocks: number } {
    return { ...this.handOffs };
  }

  generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateOutput> {
    return this.stream(request, signal);
  }

  private async *stream(
    request: GenerateRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<GenerateOutput> {
    const load = this.replicas.map((r, i) => (r.failed ? Infinity : this.inFlight[i]));
    const route = this.router.route(request.promptTokenIds, load);
    // Every replica failed: the first one's error says why.
    if (!route) throw this.replicas[0].failed ?? new Error('no engine replica can serve');
    const r = route.replica;
    let computed!: () => void;
    const first = new Promise<void>((resolve) => (computed = resolve));
    const own = heldBlock(first, false);
    const all = route.hashes.length;
    // A prefix this replica is still receiving from another: submitting before it arrives would
    // compute it a second time.
    let wait =
      route.match > 0 ? this.router.heldBlock(r, route.hashes[route.match - 1]) : undefined;
    if (route.donor >= 0) {
      const n = route.donorMatch;
      const tokens = request.promptTokenIds.slice(0, n * this.blockSize);
      const arrived = this.handOff(route.donor, r, tokens, route.donorComputing);
      wait = heldBlock(arrived, true);
      this.router.remember(r, route.hashes, route.match, n, wait);
      this.router.remember(r, route.hashes, n, all, own);
    } else {
      this.router.remember(r, route.hashes, route.match, all, own);
    }
    // The replica chosen for its prefix may have no room (its waiting queue full) while another
    // has: a request turned away before its first output tries the others, least loaded first.
    const tried = new Set<number>();
    let at = r;
    try {
      for (;;) {
        const current = at;
        let started = false;
        this.inFlight[current]++;
        // A request waiting for a hand-off does not count for the replicas' thread choice until
        // it is submitted: the donor computing the prefix meanwhile has the cores to itself.
        const waits = tried.size === 0 && wait?.handedOff === true && !wait.done;
        let counted = false;
        const count = () => {
          counted = true;
          this.loads?.set(current, ++this.submitted[current]);
        };
        if (!waits) count();
        try {
          if (waits) {
            await wait!.ready;
            count();
          }
          for await (const output of this.replicas[current].generate(request, signal)) {
            started = true;
            if (output.choices.some((c) => c.tokenIds.length > 0)) computed();
            yield output;
          }
          return;
        } catch (err) {
          tried.add(current);
          if (started || !(err instanceof BusyError)) throw err;
          // The same choice again among the replicas not tried yet.
          const rest = this.replicas.map((x, i) =>
            tried.has(i) || x.failed ? Infinity : this.inFlight[i],
          );
          const next = this.router.route(request.promptTokenIds, rest);
          if (!next) throw err;
          at = next.replica;
          this.router.remember(at, next.hashes, next.match, all, own);
        } finally {
          this.inFlight[current]--;
          if (counted) this.loads?.set(current, --this.submitted[current]);
        }
      }
    } finally {
      computed();
    }
  }

  /**
   * Copies the donor's cached blocks of `tokens` into replica `to`. The export waits for the
   * donor's current step, the import for the target's.
   * Resolves once the import is posted: a worker applies messages in order, so requests sent
   * after it find the blocks without waiting for its reply (one round trip less).
   * Whatever does not arrive (evicted meanwhile, a replica failed) is computed by the request.
   */
  private async handOff(
    from: number,
    to: number,
    tokens: number[],
    whenComputed: boolean,
  ): Promise<void> {
    try {
      const reuse = this.spentHandOffs.pop() ?? null;
      const exported = await this.replicas[from].exportPrefix(tokens, whenComputed, reuse);
      void this.replicas[to]
        .importPrefix(tokens, exported)
        .then(({ written, spent }) => {
          this.handOffs.count++;
          this.handOffs.blocks += written;
          if (spent && this.spentHandOffs.length < MAX_SPENT_HAND_OFFS) {
            this.spentHandOffs.push(spent);
          }
        })
        .catch(() => {});
    } catch {
      // A replica failed or unloads: the request computes the prefix itself, or fails there.
    }
  }

  stats(): EngineStats {
    return sumStats(this.replicas.map((r) => r.stats()));
  }

  async refreshStats(): Promise<EngineStats> {
    return sumStats(await Promise.all(this.replicas.map((r) => r.refreshStats())));
  }

  async unload(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.unload()));
  }
}
