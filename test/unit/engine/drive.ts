/** Runs an EngineCore until idle, collecting each request's outputs and checking invariants. */
import { expect } from 'vitest';
import type {
  CoreOutput,
  CoreTokenLogprob,
  EngineCoreConfig,
} from '../../../src/engine/core-types.js';
import { EngineCore } from '../../../src/engine/engine-core.js';
import {
  samplingParams,
  type FinishReason,
  type SamplingParams,
} from '../../../src/shared/sampling.js';
import { FakeRunner } from './fake-runner.js';

export interface Collected {
  tokens: number[][];
  finish: (FinishReason | null)[];
  logprobs: CoreTokenLogprob[][];
  finished: boolean;
  cachedPromptTokens: number;
  promptTokens: number;
}

export class Collector {
  readonly results = new Map<string, Collected>();

  accept(outputs: CoreOutput[]): void {
    for (const out of outputs) {
      let r = this.results.get(out.requestId);
      if (r === undefined) {
        r = {
          tokens: [],
          finish: [],
          logprobs: [],
          finished: false,
          cachedPromptTokens: 0,
          promptTokens: 0,
        };
        this.results.set(out.requestId, r);
      }
      expect(r.finished, `output for ${out.requestId} after it finished`).toBe(false);
      r.finished = out.finished;
      r.cachedPromptTokens = out.cachedPromptTokens;
      r.promptTokens = out.promptTokens;
      for (const c of out.choices) {
        r.tokens[c.index] ??= [];
        r.finish[c.index] ??= null;
        r.logprobs[c.index] ??= [];
        expect(
          r.finish[c.index],
          `choice ${c.index} of ${out.requestId} got output after finishing`,
        ).toBeNull();
        r.tokens[c.index].push(...c.newTokenIds);
        r.logprobs[c.index].push(...c.logprobs);
        r.finish[c.index] = c.finishReason;
      }
    }
  }

  get(id: string): Collected {
    const r = this.results.get(id);
    if (r === undefined) throw new Error(`no output for ${id}`);
    return r;
  }
}

export const VOCAB = 97;
export const EOS = 0;

export function config(overrides: Partial<EngineCoreConfig> = {}): EngineCoreConfig {
  return {
    numBlocks: 256,
    blockSize: 4,
    maxRunning: 64,
    maxWaiting: 1000,
    maxBatchTokens: 512,
    enablePrefixCaching: true,
    maxModelLen: 4096,
    eosTokenIds: [EOS],
    ...overrides,
  };
}

export function makeCore(
  overrides: Partial<EngineCoreConfig> = {},
  vocab = VOCAB,
): { core: EngineCore; runner: FakeRunner } {
  const cfg = config(overrides);
  const runner = new FakeRunner(vocab, cfg.blockSize, cfg.numBlocks);
  return { core: new EngineCore(runner, cfg), runner };
}

export function greedy(overrides: Partial<SamplingParams> = {}): SamplingParams {
  return samplingParams({ temperature: 0, ignoreEos: true, maxTokens: 16, ...overrides });
}

/** Deterministic token lists for prompts. */
export function tokens(seed: number, length: number, vocab = VOCAB): number[] {
  const out: number[] = [];
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.push(1 + (x % (vocab - 1)));
  }
  return out;
}

export async function runUntilIdle(
  core: EngineCore,
  collector = new Collector(),
  onStep?: (step: number) => void,
  maxSteps = 100_000,
): Promise<Collector> {
  let step = 0;
  while (core.hasWork()) {
    if (step++ > maxSteps) throw new Error('engine did not finish');
    collector.accept(await core.step());
    core.checkInvariants();
    onStep?.(step);
  }
  return collector;
}
