import { describe, expect, it } from 'vitest';
import {
  AFFINITY_SLACK,
  AUTO_MAX_MODEL_BYTES,
  HAND_OFF_MIN_BLOCKS,
  ReplicaRouter,
  ReplicatedEngine,
  type ImportedPrefix,
  type PrefixBlocks,
  type ReplicaEngine,
  heldBlock,
  planReplicas,
  prefixHashes,
  sessionsAtMost,
  sumStats,
} from '../../../src/engine/engine-replicas.js';
import { ReplicaActivity, replicaSlots } from '../../../src/engine/replica-activity.js';
import type { EngineStats, GenerateOutput, GenerateRequest } from '../../../src/engine/types.js';
import { samplingParams } from '../../../src/shared/sampling.js';

const MB = 1024 * 1024;
const small = { requested: 0, threads: 0, cores: 2, modelBytes: 17 * MB, onCpu: true };

describe('planReplicas', () => {
  it('auto: a small model on a CPU with two cores gets two replicas', () => {
    // Threads unset: every core, split between the replicas; each may use all while alone.
    expect(planReplicas(small)).toMatchObject({
      replicas: 2,
      threadsPerReplica: 1,
      wideThreads: 2,
    });
    expect(planReplicas({ ...small, cores: 8 })).toMatchObject({
      replicas: 2,
      threadsPerReplica: 4,
      wideThreads: 8,
    });
    // A thread count that is set bounds the model: the replicas split it.
    expect(planReplicas({ ...small, cores: 8, threads: 2 })).toMatchObject({
      replicas: 2,
      threadsPerReplica: 1,
      wideThreads: 2,
    });
    expect(planReplicas({ ...small, cores: 8, threads: 5 })).toMatchObject({
      replicas: 2,
      threadsPerReplica: 2,
      wideThreads: 5,
    });
  });

  it('auto keeps one replica, threads as set, where copies would not pay', () => {
    const one = (input: typeof small, why: RegExp) => {
      const plan = planReplicas(input);
      expect(plan).toMatchObject({ replicas: 1, threadsPerReplica: input.threads, wideThreads: 0 });
      expect(plan.reason).toMatch(why);
    };
    one({ ...small, cores: 1 }, /one thread/);
    one({ ...small, threads: 1, cores: 8 }, /one thread/);
    one({ ...small, onCpu: false }, /accelerator/);
    one({ ...small, modelBytes: AUTO_MAX_MODEL_BYTES + 1 }, /larger than 256 MiB/);
  });

  it('a set count wins, splitting the threads between the replicas', () => {
    expect(planReplicas({ ...small, requested: 3, cores: 8 })).toMatchObject({
      replicas: 3,
      threadsPerReplica: 2,
      wideThreads: 8,
    });
    expect(planReplicas({ ...small, requested: 3, threads: 6 })).toMatchObject({
      replicas: 3,
      threadsPerReplica: 2,
      wideThreads: 6,
    });
    // No thread to spare: no wide session.
    expect(planReplicas({ ...small, requested: 4, threads: 2 })).toMatchObject({
      replicas: 4,
      threadsPerReplica: 1,
      wideThreads: 2,
    });
    expect(planReplicas({ ...small, requested: 2, threads: 1 })).toMatchObject({
      replicas: 2,
      threadsPerReplica: 1,
      wideThreads: 0,
    });
    expect(planReplicas({ ...small, requested: 1, threads: 3 })).toMatchObject({
      replicas: 1,
      threadsPerReplica: 3,
      wideThreads: 0,
    });
  });

  it('memory estimates count the sessions (weight copies) a load may make', () => {
    expect(sessionsAtMost({ threads: 0 }, 17 * MB, 2)).toBe(1);
    // Two replicas, each with its own session and a wide one.
    expect(sessionsAtMost({ threads: 0, replicas: 0 }, 17 * MB, 2)).toBe(4);
    expect(sessionsAtMost({ threads: 0, replicas: 0 }, AUTO_MAX_MODEL_BYTES * 2, 2)).toBe(1);
    expect(sessionsAtMost({ threads: 0, replicas: 3 }, AUTO_MAX_MODEL_BYTES * 2, 2)).toBe(6);
    expect(sessionsAtMost({ threads: 1, replicas: 2 }, 17 * MB, 2)).toBe(2);
  });
});

describe('prefixHashes', () => {
  it('gives one hash per full block, each covering the whole prefix before it', () => {
    const a = Array.from({ length: 40 }, (_, i) => i);
    const b = [...a];
    b[20] = 999;
    expect(prefixHashes(a, 16)).toHaveLength(2);
    expect(prefixHashes(a.slice(0, 15), 16)).toHaveLength(0);
    expect(prefixHashes(b, 16)[0]).toBe(prefixHashes(a, 16)[0]);
    expect(prefixHashes(b, 16)[1]).not.toBe(prefixHashes(a, 16)[1]);
    expect(prefixHashes(a, 16)[1]).not.toBe(prefixHashes(a, 16)[0]);
  });
});

const prompt = (seed: number, len = 64) =>
  Array.from({ length: len }, (_, i) => (seed * 7919 + i * 31) % 4000);

/** Routes a prompt and records it as computed where it went (as a finished request leaves it). */
function pick(router: ReplicaRouter, p: readonly number[], load: readonly number[]): number {
  const route = router.route(p, load);
  if (!route) return -1;
  const done = heldBlock(Promise.resolve(), false);
  done.done = true;
  router.remember(route.replica, route.hashes, route.match, route.hashes.length, done);
  return route.replica;
}

describe('ReplicaRouter', () => {
  it('spreads unrelated prompts by load; ties go to the first replica', () => {
    const r = new ReplicaRouter(2, 16);
    // One request after another stays on one replica (its caches are warm).
    expect([0, 1, 2, 3].map((s) => pick(r, prompt(s), [0, 0]))).toEqual([0, 0, 0, 0]);
    expect(pick(r, prompt(10), [3, 1])).toBe(1);
    expect(pick(r, prompt(11), [1, 3])).toBe(0);
    expect(pick(r, prompt(12), [1, 0])).toBe(1);
  });

  it('sends a prompt to the replica that served its prefix, within the slack', () => {
    const r = new ReplicaRouter(2, 16);
    const system = prompt(1, 48);
    const first = pick(r, [...system, 1, 2, 3], [0, 0]);
    const other = 1 - first;
    const load = [0, 0];
    load[first] = AFFINITY_SLACK;
    // A follow-up with the same prefix stays while its replica is at most the slack busier…
    expect(pick(r, [...system, 4, 5], load)).toBe(first);
    // …and goes to the idle one beyond it, which then holds the prefix as well.
    load[first] = AFFINITY_SLACK + 1;
    expect(pick(r, [...system, 6, 7], load)).toBe(other);
    load[first] = 2;
    load[other] = 1;
    expect(pick(r, [...system, 8, 9], load)).toBe(other);
    // The longest matching prefix wins among replicas within the slack.
    const longer = [...system, ...prompt(9, 32)];
    const owner = pick(r, longer, [0, 0]);
    expect(pick(r, [...longer, 1], [1, 0])).toBe(owner);
    expect(pick(r, [...longer, 1], [0, 1])).toBe(owner);
  });

  it('names a busier replica holding a longer prefix as the donor of a hand-off', () => {
    const r = new ReplicaRouter(2, 16);
    const long = prompt(3, 16 * (HAND_OFF_MIN_BLOCKS + 2));
    expect(pick(r, long, [0, 0])).toBe(0);
    // Replica 0 is too busy: the request goes to 1, which gets the prefix from 0.
    const route = r.route([...long, 1, 2], [AFFINITY_SLACK + 1, 0])!;
    expect(route).toMatchObject({ replica: 1, match: 0, donor: 0 });
    expect(route.donorMatch).toBe(HAND_OFF_MIN_BLOCKS + 2);
    // A short shared prefix is computed again rather than handed off.
    const short = prompt(4, 16 * (HAND_OFF_MIN_BLOCKS - 1));
    expect(pick(r, short, [0, 0])).toBe(0);
    expect(r.route([...short, 1], [AFFINITY_SLACK + 1, 0])).toMatchObject({
      replica: 1,
      donor: -1,
    });
    // Without affinity (no prefix caching) nothing is matched or handed off.
    const plain = new ReplicaRouter(2, 16, false);
    expect(pick(plain, long, [0, 0])).toBe(0);
    expect(plain.route(long, [1, 0])).toMatchObject({ replica: 1, match: 0, donor: -1 });
  });

  it('hands off a prefix the donor computes, not one it is still receiving', async () => {
    const r = new ReplicaRouter(3, 16);
    const long = prompt(5, 16 * (HAND_OFF_MIN_BLOCKS + 1));
    let computed!: () => void;
    const block = heldBlock(new Promise<void>((resolve) => (computed = resolve)), false);
    const first = r.route(long, [0, 0, 0])!;
    expect(first.replica).toBe(0);
    r.remember(0, first.hashes, 0, first.hashes.length, block);
    // Still computing on 0: 1 waits for it (the export is answered once it is computed).
    const second = r.route(long, [AFFINITY_SLACK + 1, 0, AFFINITY_SLACK + 1])!;
    expect(second).toMatchObject({
      replica: 1,
      donor: 0,
      donorMatch: HAND_OFF_MIN_BLOCKS + 1,
      donorComputing: true,
    });
    // 1 only receives it: no donor for 2 but 0.
    let arrived!: () => void;
    const receiving = heldBlock(new Promise<void>((resolve) => (arrived = resolve)), true);
    r.remember(1, second.hashes, 0, second.hashes.length, receiving);
    const third = r.route(long, [AFFINITY_SLACK + 1, AFFINITY_SLACK + 1, 0])!;
    expect(third).toMatchObject({ replica: 2, donor: 0, donorComputing: true });
    const onlyOne = r.route(long, [Infinity, AFFINITY_SLACK + 1, 0])!;
    expect(onlyOne).toMatchObject({ replica: 2, donor: -1 });
    computed();
    arrived();
    await Promise.all([block.ready, receiving.ready]);
    expect(r.route(long, [AFFINITY_SLACK + 1, 0, AFFINITY_SLACK + 1])).toMatchObject({
      replica: 1,
      match: HAND_OFF_MIN_BLOCKS + 1,
      donor: -1,
    });
    expect(r.route(long, [AFFINITY_SLACK + 1, AFFINITY_SLACK + 1, 0])).toMatchObject({
      replica: 2,
      donor: 0,
      donorComputing: false,
    });
  });

  it('skips replicas that cannot serve; -1 when none can', () => {
    const r = new ReplicaRouter(3, 16);
    for (let s = 0; s < 6; s++) expect(pick(r, prompt(s), [Infinity, 0, Infinity])).toBe(1);
    expect(pick(r, prompt(1), [Infinity, Infinity, Infinity])).toBe(-1);
  });
});

function stats(over: {
  used: number;
  total: number;
  queried: number;
  hit: number;
  proposed: number;
  accepted: number;
  verifications: number;
}): EngineStats {
  return {
    running: 1,
    waiting: 2,
    kv: {
      blockSize: 16,
      totalBlocks: over.total,
      usedBlocks: over.used,
      usage: over.used / over.total,
      bytesPerToken: 2048,
      capacityTokens: over.total * 16,
    },
    prefixCache: {
      queriedTokens: over.queried,
      hitTokens: over.hit,
      hitRate: over.hit / over.queried,
    },
    counters: {
      promptTokens: 10,
      generationTokens: 20,
      steps: 5,
      preemptions: 1,
      finished: { stop: 1, length: 2, abort: 0 },
    },
    speculative: {
      proposed: over.proposed,
      accepted: over.accepted,
      verifications: over.verifications,
      acceptanceRate: over.accepted / over.proposed,
      meanAcceptedLength: (over.verifications + over.accepted) / over.verifications,
    },
  };
}

describe('sumStats', () => {
  it('adds counts and recomputes the rates from the sums', () => {
    const a = stats({
      used: 10,
      total: 100,
      queried: 100,
      hit: 50,
      proposed: 10,
      accepted: 5,
      verifications: 4,
    });
    const b = stats({
      used: 30,
      total: 100,
      queried: 300,
      hit: 0,
      proposed: 30,
      accepted: 27,
      verifications: 6,
    });
    const s = sumStats([a, b]);
    expect(s.running).toBe(2);
    expect(s.waiting).toBe(4);
    expect(s.kv).toMatchObject({
      totalBlocks: 200,
      usedBlocks: 40,
      usage: 0.2,
      capacityTokens: 3200,
    });
    expect(s.prefixCache).toEqual({ queriedTokens: 400, hitTokens: 50, hitRate: 0.125 });
    expect(s.counters).toEqual({
      promptTokens: 20,
      generationTokens: 40,
      steps: 10,
      preemptions: 2,
      finished: { stop: 2, length: 4, abort: 0 },
    });
    expect(s.speculative).toEqual({
      proposed: 40,
      accepted: 32,
      verifications: 10,
      acceptanceRate: 0.8,
      meanAcceptedLength: 4.2,
    });
  });
});

/** A worker's engine, scripted: each request's single output waits until `finish` is called. */
class ScriptedReplica {
  readonly failed = null;
  readonly info = { replicas: 1 } as unknown as ReplicaEngine['info'];
  readonly tokenizer = null as unknown as ReplicaEngine['tokenizer'];
  readonly submitted: number[][] = [];
  readonly exports: boolean[] = [];
  /** Each export's buffer to write into, and the buffer it answered with. */
  readonly reuses: Array<{ offered: ArrayBuffer | null; used: ArrayBuffer }> = [];
  private finishers: Array<() => void> = [];
  private exportReply: (() => void) | null = null;

  stats(): EngineStats {
    return { kv: { blockSize: 16 } } as EngineStats;
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerateOutput> {
    this.submitted.push(request.promptTokenIds);
    await new Promise<void>((resolve) => this.finishers.push(resolve));
    yield { choices: [{ index: 0, tokenIds: [1], text: '', finishReason: 'length' }] } as never;
  }

  finishAll(): void {
    for (const f of this.finishers.splice(0)) f();
  }

  /** A whenComputed export stays open until `computed()`. */
  exportPrefix(
    tokenIds: number[],
    whenComputed = false,
    reuse: ArrayBuffer | null = null,
  ): Promise<PrefixBlocks> {
    this.exports.push(whenComputed);
    const data = reuse ? new Float32Array(reuse, 0, 4) : new Float32Array(4);
    this.reuses.push({ offered: reuse, used: data.buffer as ArrayBuffer });
    const blocks = { blocks: tokenIds.length / 16, data };
    if (!whenComputed) return Promise.resolve(blocks);
    return new Promise((resolve) => (this.exportReply = () => resolve(blocks)));
  }

  computed(): void {
    this.exportReply?.();
  }

  async importPrefix(_tokens: number[], p: PrefixBlocks): Promise<ImportedPrefix> {
    return { written: p.blocks, spent: p.data.buffer as ArrayBuffer };
  }

  async refreshStats(): Promise<EngineStats> {
    return this.stats();
  }

  async unload(): Promise<void> {}
}

describe('ReplicatedEngine hand-off of a prefix still being computed', () => {
  it('waits for it, and the waiting requests leave the donor alone on the cores until sent', async () => {
    const replicas = [new ScriptedReplica(), new ScriptedReplica()];
    const slots = replicaSlots(2, 2);
    const engine = new ReplicatedEngine(
      replicas as unknown as ReplicaEngine[],
      { replicas: 2, threadsPerReplica: 1, wideThreads: 2, reason: 'test' },
      true,
      slots[0].activity,
    );
    const donor = new ReplicaActivity(slots[0]);
    const system = prompt(7, 16 * (HAND_OFF_MIN_BLOCKS + 1));
    const params = samplingParams({ temperature: 0, maxTokens: 1 });
    const drain = async (p: number[]) => {
      for await (const _ of engine.generate({ promptTokenIds: p, params })) void _;
    };
    // A burst: the first few go to replica 0 (which computes the prefix), then replica 1.
    const n = AFFINITY_SLACK + 2;
    const done = Array.from({ length: n }, (_, i) => drain([...system, 100 + i]));
    await new Promise((r) => setTimeout(r, 0));
    expect(replicas[0].submitted).toHaveLength(n - 1);
    // The last one waits for replica 0's prefix rather than computing it beside it…
    expect(replicas[0].exports).toEqual([true]);
    expect(replicas[1].submitted).toHaveLength(0);
    // …and does not count against replica 0 running alone meanwhile.
    expect(donor.alone()).toBe(true);
    replicas[0].computed();
    await new Promise((r) => setTimeout(r, 0));
    expect(replicas[1].submitted).toHaveLength(1);
    expect(donor.alone()).toBe(false);
    expect(engine.handOffStats()).toEqual({ count: 1, blocks: HAND_OFF_MIN_BLOCKS + 1 });
    replicas.forEach((r) => r.finishAll());
    await Promise.all(done);
    expect(donor.alone()).toBe(true);

    // The next hand-off's export writes into the first one's buffer, spent by its import.
    const next = prompt(8, 16 * (HAND_OFF_MIN_BLOCKS + 1));
    const again = Array.from({ length: n }, (_, i) => drain([...next, 200 + i]));
    await new Promise((r) => setTimeout(r, 0));
    replicas[0].computed();
    await new Promise((r) => setTimeout(r, 0));
    expect(engine.handOffStats().count).toBe(2);
    expect(replicas[0].reuses).toHaveLength(2);
    expect(replicas[0].reuses[0].offered).toBeNull();
    expect(replicas[0].reuses[1].offered).toBe(replicas[0].reuses[0].used);
    replicas.forEach((r) => r.finishAll());
    await Promise.all(again);
  });
});
