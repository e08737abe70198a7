import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/engine-host.js';
import { ReplicatedEngine, type LocalEngine } from '../../src/engine/engine-replicas.js';
import { samplingParams } from '../../src/shared/sampling.js';
import { CHAT_MODEL, chatPrompt, collect, engineOptions } from './engine-helpers.js';

let replicated: ReplicatedEngine;
let single: LocalEngine;

beforeAll(async () => {
  const fractions: number[] = [];
  const engine = await loadEngine(
    CHAT_MODEL,
    engineOptions({ replicas: 2, threads: 2, kvCacheBytes: 32 * 1024 * 1024 }),
    (p) => fractions.push(p.fraction),
  );
  if (!(engine instanceof ReplicatedEngine)) throw new Error('expected two replicas');
  replicated = engine;
  // Load progress covers both replicas: it ends at 1 only when both are loaded.
  expect(fractions.at(-1)).toBe(1);
  expect(fractions.filter((f) => f === 1)).toHaveLength(1);
  single = await loadEngine(CHAT_MODEL, engineOptions({ kvCacheBytes: 32 * 1024 * 1024 }));
});

afterAll(async () => {
  await replicated?.unload();
  await single?.unload();
});

const greedy = (maxTokens: number) => samplingParams({ temperature: 0, maxTokens });

describe('Engine replicas (two workers, real model)', () => {
  it('splits the threads and the KV budget between the replicas', () => {
    // One thread each; both threads for a replica while the other has no work.
    expect(replicated.info).toMatchObject({ replicas: 2, threadsPerReplica: 1, wideThreads: 2 });
    expect(replicated.info.replicasReason).toBe('replicas: 2 as set');
    expect(single.info.replicas).toBe(1);
    const [a, b] = replicated.replicaStats();
    expect(a.kv.totalBlocks).toBe(b.kv.totalBlocks);
    // The pool is split, not doubled: together the same bytes as the single engine's.
    expect(replicated.stats().kv.totalBlocks).toBe(a.kv.totalBlocks * 2);
    expect(
      Math.abs(replicated.stats().kv.totalBlocks - single.stats().kv.totalBlocks),
    ).toBeLessThanOrEqual(1);
  });

  it('serves concurrent requests on both replicas with the single engine’s greedy tokens', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => chatPrompt(single.tokenizer, 300 + i));
    const before = replicated.replicaStats().map((s) => s.counters.generationTokens);
    const [together, alone] = await Promise.all([
      Promise.all(
        prompts.map((p) => collect(replicated.generate({ promptTokenIds: p, params: greedy(24) }))),
      ),
      Promise.all(
        prompts.map((p) => collect(single.generate({ promptTokenIds: p, params: greedy(24) }))),
      ),
    ]);
    expect(together.map((c) => c.tokens[0])).toEqual(alone.map((c) => c.tokens[0]));
    await replicated.refreshStats();
    const after = replicated.replicaStats();
    const generated = after.map((s, i) => s.counters.generationTokens - before[i]);
    expect(generated[0]).toBeGreaterThan(0);
    expect(generated[1]).toBeGreaterThan(0);
    expect(generated[0] + generated[1]).toBe(together.reduce((a, c) => a + c.tokens[0].length, 0));
  });

  it('sends a follow-up to the replica that holds its prefix, so the cache hits', async () => {
    const usage = (c: Awaited<ReturnType<typeof collect>>) => c.outputs.at(-1)!.usage!;
    const long = chatPrompt(single.tokenizer, 777, 60);
    expect(long.length).toBeGreaterThanOrEqual(64);
    const first = await collect(replicated.generate({ promptTokenIds: long, params: greedy(4) }));
    expect(usage(first).cachedPromptTokens).toBe(0);
    // The follow-up arrives while an unrelated request keeps that replica busier: by load
    // alone it would go to the other replica and compute the whole prefix again.
    const busy = new AbortController();
    const other = collect(
      replicated.generate(
        { promptTokenIds: chatPrompt(single.tokenizer, 901), params: greedy(400) },
        busy.signal,
      ),
    );
    const again = await collect(
      replicated.generate({ promptTokenIds: [...long, ...first.tokens[0]], params: greedy(4) }),
    );
    busy.abort();
    await other;
    expect(usage(again).cachedPromptTokens).toBeGreaterThanOrEqual(
      Math.floor(long.length / 16) * 16,
    );
  });

  it('hands a prefix to the other replica when the one holding it is busy', async () => {
    const usage = (c: Awaited<ReturnType<typeof collect>>) => c.outputs.at(-1)!.usage!;
    const long = chatPrompt(single.tokenizer, 4242, 80);
    expect(long.length).toBeGreaterThanOrEqual(16 * 6);
    await collect(replicated.generate({ promptTokenIds: long, params: greedy(2) }));
    const before = replicated.handOffStats();
    // Three long requests behind the same prefix stay on its replica (within the slack) and
    // make it too busy to take the next one.
    const busy = new AbortController();
    const others = Array.from({ length: 3 }, (_, i) =>
      collect(
        replicated.generate(
          {
            promptTokenIds: [...long, ...chatPrompt(single.tokenizer, 950 + i, 4)],
            params: greedy(400),
          },
          busy.signal,
        ),
      ),
    );
    const followUp = [...long, ...chatPrompt(single.tokenizer, 77, 4)];
    const params = samplingParams({ temperature: 0, maxTokens: 16, logprobs: true });
    const [handed, alone] = await Promise.all([
      collect(replicated.generate({ promptTokenIds: followUp, params })),
      collect(single.generate({ promptTokenIds: followUp, params })),
    ]);
    busy.abort();
    await Promise.all(others);
    const after = replicated.handOffStats();
    expect(after.count).toBe(before.count + 1);
    const full = Math.floor(long.length / 16);
    expect(after.blocks - before.blocks).toBe(full);
    // The other replica computed only what follows the handed-off blocks…
    expect(usage(handed).cachedPromptTokens).toBe(full * 16);
    // …and the copied keys and values are right: the same greedy tokens with the same logprobs
    // as computing it all (a tiny model's greedy text alone barely depends on a long prefix).
    expect(handed.tokens[0]).toEqual(alone.tokens[0]);
    handed.logprobs[0].forEach((lp, i) =>
      expect(lp.logprob).toBeCloseTo(alone.logprobs[0][i].logprob, 3),
    );
  });

  it('computes a new prefix once for a burst: the other replica waits for it and receives it', async () => {
    const usage = (c: Awaited<ReturnType<typeof collect>>) => c.outputs.at(-1)!.usage!;
    const system = chatPrompt(single.tokenizer, 6161, 80);
    const full = Math.floor(system.length / 16);
    expect(full).toBeGreaterThanOrEqual(5);
    const prompts = Array.from({ length: 6 }, (_, i) => [
      ...system.slice(0, full * 16),
      ...chatPrompt(single.tokenizer, 620 + i, 4),
    ]);
    const before = replicated.handOffStats();
    // All at once: three go to the first replica (the slack), the rest to the other, which
    // would compute the same prefix at the same time unless it waits for the first's.
    const [burst, alone] = await Promise.all([
      Promise.all(
        prompts.map((p) => collect(replicated.generate({ promptTokenIds: p, params: greedy(8) }))),
      ),
      Promise.all(
        prompts.map((p) => collect(single.generate({ promptTokenIds: p, params: greedy(8) }))),
      ),
    ]);
    expect(burst.map((c) => c.tokens[0])).toEqual(alone.map((c) => c.tokens[0]));
    const after = replicated.handOffStats();
    expect(after.count - before.count).toBe(1);
    expect(after.blocks - before.blocks).toBe(full);
    // Only one request computed the prefix; every other one found it cached.
    const cached = burst.map((c) => usage(c).cachedPromptTokens);
    expect(cached.filter((n) => n === 0)).toHaveLength(1);
    expect(cached.filter((n) => n === full * 16)).toHaveLength(prompts.length - 1);
  });

  it('tries the other replica when the one holding the prefix has no room', async () => {
    const tight = await loadEngine(
      CHAT_MODEL,
      engineOptions({ replicas: 2, threads: 2, maxRunningRequests: 1, maxWaitingRequests: 0 }),
    );
    if (!(tight instanceof ReplicatedEngine)) throw new Error('expected two replicas');
    try {
      const long = chatPrompt(single.tokenizer, 31337, 60);
      await collect(tight.generate({ promptTokenIds: long, params: greedy(2) }));
      // The prefix's replica runs one long request and can hold no other…
      const busy = new AbortController();
      let started!: () => void;
      const running = collect(
        tight.generate(
          {
            promptTokenIds: [...long, ...chatPrompt(single.tokenizer, 1, 4)],
            params: samplingParams({ temperature: 0, maxTokens: 400, ignoreEos: true }),
          },
          busy.signal,
        ),
        () => started(),
      );
      await new Promise<void>((resolve) => (started = resolve));
      // …so a second request behind the same prefix, routed there first, runs on the other.
      const second = await collect(
        tight.generate({
          promptTokenIds: [...long, ...chatPrompt(single.tokenizer, 2, 4)],
          params: greedy(8),
        }),
      );
      busy.abort();
      await running;
      expect(second.tokens[0]).toHaveLength(8);
      await tight.refreshStats();
      expect(tight.replicaStats().map((s) => s.counters.generationTokens > 0)).toEqual([
        true,
        true,
      ]);
    } finally {
      await tight.unload();
    }
  });
});
