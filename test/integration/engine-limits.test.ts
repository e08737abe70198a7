import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { matmulModelBytes } from '../../bench/matmul-onnx.js';
import { loadEngine } from '../../src/engine/engine-host.js';
import type { LocalEngine } from '../../src/engine/engine-replicas.js';
import { ReferenceModel } from '../../src/engine/reference-loop.js';
import { kvBytesPerToken } from '../../src/engine/runner-types.js';
import { BusyError } from '../../src/shared/errors.js';
import { samplingParams } from '../../src/shared/sampling.js';
import { CHAT_MODEL, chatPrompt, collect, engineOptions } from './engine-helpers.js';

let engine: LocalEngine | undefined;
let reference: ReferenceModel;

beforeAll(async () => {
  reference = await ReferenceModel.open(CHAT_MODEL, { threads: 2 });
});

afterAll(async () => {
  await reference?.close();
});

afterEach(async () => {
  await engine?.unload();
  engine = undefined;
});

describe('engine limits', () => {
  it('under a tiny KV budget, preempted requests still complete correctly', async () => {
    const g = reference.model.config;
    const perToken = kvBytesPerToken({
      numLayers: g.numLayers,
      numKvHeads: g.numKvHeads,
      headDim: g.headDim,
      dtypeBytes: 4,
    });
    const blocks = 14;
    engine = await loadEngine(
      CHAT_MODEL,
      engineOptions({ kvCacheBytes: blocks * 16 * perToken, maxRunningRequests: 8 }),
    );
    expect(engine.stats().kv.totalBlocks).toBe(blocks);
    const prompts = Array.from({ length: 8 }, (_, i) =>
      chatPrompt(engine!.tokenizer, 300 + i, 6 + i * 2),
    );
    const params = samplingParams({ temperature: 0, maxTokens: 40, ignoreEos: true });
    const results = await Promise.all(
      prompts.map((p) => collect(engine!.generate({ promptTokenIds: p, params }))),
    );
    const stats = await engine.refreshStats();
    expect(stats.counters.preemptions).toBeGreaterThan(0);
    for (let i = 0; i < prompts.length; i++) {
      expect(results[i].finish[0]).toBe('length');
      expect(results[i].tokens[0]).toEqual(
        await reference.generate(prompts[i], { maxTokens: 40, ignoreEos: true }),
      );
    }
    expect(stats.kv.usedBlocks).toBe(0);
  });

  it('rejects with BusyError when the waiting queue is full', async () => {
    engine = await loadEngine(
      CHAT_MODEL,
      engineOptions({ maxRunningRequests: 1, maxWaitingRequests: 1 }),
    );
    const e = engine;
    const long = samplingParams({ temperature: 0, maxTokens: 400, ignoreEos: true });
    const ac = new AbortController();
    // The first request is running once its first output arrives; the second waits behind it.
    let firstRunning!: () => void;
    const running = new Promise<void>((r) => (firstRunning = r));
    const first = collect(
      e.generate({ promptTokenIds: chatPrompt(e.tokenizer, 1), params: long }, ac.signal),
      firstRunning,
    );
    await running;
    const second = collect(
      e.generate({ promptTokenIds: chatPrompt(e.tokenizer, 2), params: long }, ac.signal),
    );
    const third = collect(
      e.generate({ promptTokenIds: chatPrompt(e.tokenizer, 3), params: long }, ac.signal),
    );
    await expect(third).rejects.toBeInstanceOf(BusyError);
    await expect(third).rejects.toMatchObject({ status: 429 });
    ac.abort();
    expect((await first).finish[0]).toBe('abort');
    expect((await second).finish[0]).toBe('abort');
  });

  it('unload ends the streams in flight as aborted', async () => {
    engine = await loadEngine(CHAT_MODEL, engineOptions());
    const e = engine;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const params = samplingParams({ temperature: 0, maxTokens: 500, ignoreEos: true });
    const inFlight = collect(
      e.generate({ promptTokenIds: chatPrompt(e.tokenizer, 4), params }),
      started,
    );
    await running;
    await e.unload();
    expect((await inFlight).finish[0]).toBe('abort');
    await expect(collect(e.generate({ promptTokenIds: [5, 6], params }))).rejects.toThrow(
      /unloaded/,
    );
  });

  it('refuses a graph it cannot drive, naming what is missing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'orchard-bad-model-'));
    try {
      for (const f of [
        'config.json',
        'generation_config.json',
        'tokenizer.json',
        'tokenizer_config.json',
      ]) {
        copyFileSync(path.join(CHAT_MODEL, f), path.join(dir, f));
      }
      mkdirSync(path.join(dir, 'onnx'));
      writeFileSync(path.join(dir, 'onnx', 'model.onnx'), matmulModelBytes());
      await expect(loadEngine(dir, engineOptions())).rejects.toThrow(
        /cannot be driven by Orchard; it lacks: input 'input_ids'; input 'attention_mask'; output 'logits'; past key for layer 0/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
