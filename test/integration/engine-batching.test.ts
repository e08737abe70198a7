import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../src/engine/engine-host.js';
import type { LocalEngine } from '../../src/engine/engine-replicas.js';
import { ReferenceModel } from '../../src/engine/reference-loop.js';
import { samplingParams } from '../../src/shared/sampling.js';
import { CHAT_MODEL, chatPrompt, collect, engineOptions, promptText } from './engine-helpers.js';

let engine: LocalEngine;
let reference: ReferenceModel;

beforeAll(async () => {
  engine = await loadEngine(
    CHAT_MODEL,
    engineOptions({ maxRunningRequests: 64, maxBatchTokens: 256 }),
  );
  reference = await ReferenceModel.open(CHAT_MODEL, { threads: 2 });
});

afterAll(async () => {
  await engine?.unload();
  await reference?.close();
});

describe('continuous batching', () => {
  it('64 prompts batched while requests join and leave give the tokens each gives alone', async () => {
    const N = 64;
    const prompts = Array.from({ length: N }, (_, i) =>
      chatPrompt(engine.tokenizer, 100 + i, 4 + ((i * 7) % 40)),
    );
    const maxTokens = Array.from({ length: N }, (_, i) => 6 + ((i * 5) % 13));
    const alone: number[][] = [];
    for (let i = 0; i < N; i++)
      alone.push(await reference.generate(prompts[i], { maxTokens: maxTokens[i] }));

    // Four waves, each joining while the previous ones are mid-generation; short requests leave
    // while long ones continue, so batch composition and padding change from step to step.
    const runs: Array<Promise<number[]>> = [];
    let peakRunning = 0;
    for (let wave = 0; wave < 4; wave++) {
      // The next wave joins as soon as this one is producing tokens.
      let producing!: () => void;
      const started = new Promise<void>((r) => (producing = r));
      for (let i = wave * 16; i < wave * 16 + 16; i++) {
        const params = samplingParams({ temperature: 0, maxTokens: maxTokens[i] });
        runs.push(
          collect(engine.generate({ promptTokenIds: prompts[i], params }), (o) => {
            peakRunning = Math.max(peakRunning, engine.stats().running);
            if (o.choices.some((c) => c.tokenIds.length > 0)) producing();
          }).then((c) => c.tokens[0] ?? []),
        );
      }
      await started;
    }
    const batched = await Promise.all(runs);
    const same = batched.filter((t, i) => JSON.stringify(t) === JSON.stringify(alone[i])).length;
    const compared = alone.reduce((a, t) => a + t.length, 0);
    console.log(
      `batch invariance: ${same}/${N} prompts identical, ${compared} greedy tokens compared (peak running ${peakRunning})`,
    );
    expect(peakRunning).toBeGreaterThan(16);
    expect(same / N).toBe(1);
  });

  it('a second request with the same long prefix computes only its new tokens, with the same output', async () => {
    const system = promptText(500, 260);
    const make = (question: string) =>
      engine.tokenizer.encode(
        engine.tokenizer.applyChatTemplate(
          [
            { role: 'system', content: system },
            { role: 'user', content: question },
          ],
          { addGenerationPrompt: true },
        ),
        { addSpecialTokens: false },
      );
    const first = make('which trees are by the river');
    const second = make('what do the children climb');
    expect(first.length).toBeGreaterThan(200);
    let shared = 0;
    while (first[shared] === second[shared]) shared++;
    const params = samplingParams({ temperature: 0, maxTokens: 16 });

    await collect(engine.generate({ promptTokenIds: first, params }));
    const before = await engine.refreshStats();
    const got = await collect(engine.generate({ promptTokenIds: second, params }));
    const after = await engine.refreshStats();

    const cached = got.outputs.at(-1)!.usage!.cachedPromptTokens;
    const bs = engine.stats().kv.blockSize;
    // Every full block of the shared prefix is reused.
    expect(cached).toBe(Math.floor(shared / bs) * bs);
    expect(after.counters.promptTokens - before.counters.promptTokens).toBe(second.length - cached);
    expect(after.prefixCache.hitTokens - before.prefixCache.hitTokens).toBe(cached);
    expect(got.tokens[0]).toEqual(await reference.generate(second, { maxTokens: 16 }));
  });
});
