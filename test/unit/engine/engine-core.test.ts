import { describe, expect, it } from 'vitest';
import {
  BusyError,
  ContextLengthExceededError,
  InvalidRequestError,
} from '../../../src/shared/errors.js';
import { samplingParams } from '../../../src/shared/sampling.js';
import { Collector, EOS, VOCAB, greedy, makeCore, runUntilIdle, tokens } from './drive.js';
import { fakeLogits, prefixState, referenceGreedy } from './fake-runner.js';

describe('EngineCore basics', () => {
  it('greedy output equals the fake model computed directly', async () => {
    const { core, runner } = makeCore();
    const prompt = tokens(1, 13);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 20 }) });
    const r = (await runUntilIdle(core)).get('a');
    expect(r.tokens[0]).toEqual(referenceGreedy(prompt, VOCAB, 20));
    expect(r.finish).toEqual(['length']);
    expect(r.finished).toBe(true);
    expect(r.promptTokens).toBe(13);
    // The prompt is computed once, then one token per step (the last sampled token is never computed).
    expect(runner.computedTokens).toBe(13 + 19);
    const s = core.stats();
    expect(s.counters.promptTokens).toBe(13);
    expect(s.counters.generationTokens).toBe(20);
    expect(s.counters.finished).toEqual({ stop: 0, length: 1, abort: 0 });
    expect(s.kv.usedBlocks).toBe(0);
    expect(s.running + s.waiting).toBe(0);
  });

  it('stops on an end-of-sequence id unless ignoreEos, and on extra stop ids', async () => {
    const prompt = tokens(2, 9);
    const ref = referenceGreedy(prompt, VOCAB, 12);
    const stopAt = ref[4];
    const { core } = makeCore({ eosTokenIds: [stopAt] });
    core.addRequest({
      id: 'eos',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 12, ignoreEos: false }),
    });
    core.addRequest({
      id: 'ignore',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 12, ignoreEos: true }),
    });
    core.addRequest({
      id: 'stopid',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 12, ignoreEos: true, stopTokenIds: [ref[2]] }),
    });
    const c = await runUntilIdle(core);
    const firstStop = ref.indexOf(stopAt);
    expect(c.get('eos').tokens[0]).toEqual(ref.slice(0, firstStop + 1));
    expect(c.get('eos').finish).toEqual(['stop']);
    expect(c.get('ignore').tokens[0]).toEqual(ref);
    expect(c.get('ignore').finish).toEqual(['length']);
    expect(c.get('stopid').tokens[0]).toEqual(ref.slice(0, ref.indexOf(ref[2]) + 1));
    expect(c.get('stopid').finish).toEqual(['stop']);
  });

  it('finishes with length at the model context end', async () => {
    const { core } = makeCore({ maxModelLen: 20 });
    const prompt = tokens(3, 15);
    core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 100 }) });
    const r = (await runUntilIdle(core)).get('a');
    expect(r.tokens[0]).toEqual(referenceGreedy(prompt, VOCAB, 5));
    expect(r.finish).toEqual(['length']);
  });

  it('rejects bad requests with typed errors', () => {
    const { core } = makeCore({
      maxModelLen: 32,
      numBlocks: 4,
      blockSize: 4,
      maxWaiting: 2,
      maxRunning: 1,
    });
    const params = greedy();
    expect(() => core.addRequest({ id: 'e', promptTokenIds: [], params })).toThrow(
      InvalidRequestError,
    );
    expect(() => core.addRequest({ id: 'v', promptTokenIds: [VOCAB], params })).toThrow(
      InvalidRequestError,
    );
    expect(() =>
      core.addRequest({ id: 'n', promptTokenIds: [1], params: greedy({ n: 0 }) }),
    ).toThrow(InvalidRequestError);
    // 16 KV slots: a 16-token prompt plus one generated token cannot fit.
    expect(() => core.addRequest({ id: 'kv', promptTokenIds: tokens(4, 16), params })).toThrow(
      ContextLengthExceededError,
    );
    const big = makeCore({ maxModelLen: 10 }).core;
    expect(() => big.addRequest({ id: 'ctx', promptTokenIds: tokens(4, 10), params })).toThrow(
      ContextLengthExceededError,
    );
    core.addRequest({ id: 'w1', promptTokenIds: [1, 2], params });
    core.addRequest({ id: 'w2', promptTokenIds: [1, 2], params });
    expect(() => core.addRequest({ id: 'w1', promptTokenIds: [1, 2], params })).toThrow(
      InvalidRequestError,
    );
    // One of the queued requests takes the free running slot at the next step, so three fit
    // behind a waiting bound of two; the fourth is refused.
    core.addRequest({ id: 'w3', promptTokenIds: [1, 2], params });
    expect(() => core.addRequest({ id: 'w4', promptTokenIds: [1, 2], params })).toThrow(BusyError);
    expect(core.stats().waiting).toBe(3);
  });

  it('the waiting bound counts only requests that free running slots cannot take', () => {
    const { core } = makeCore({ numBlocks: 64, maxRunning: 4, maxWaiting: 0 });
    const params = greedy();
    for (let i = 0; i < 4; i++) core.addRequest({ id: `r${i}`, promptTokenIds: [1, 2], params });
    expect(() => core.addRequest({ id: 'r4', promptTokenIds: [1, 2], params })).toThrow(BusyError);
  });

  it('abort frees every block and ends the request with abort', async () => {
    const { core } = makeCore({ numBlocks: 64, maxRunning: 3 });
    core.addRequest({
      id: 'a',
      promptTokenIds: tokens(5, 30),
      params: greedy({ maxTokens: 1000 }),
    });
    core.addRequest({
      id: 'b',
      promptTokenIds: tokens(6, 30),
      params: greedy({ maxTokens: 5, n: 2 }),
    });
    core.addRequest({ id: 'queued', promptTokenIds: tokens(7, 10), params: greedy() });
    const c = new Collector();
    for (let i = 0; i < 3; i++) c.accept(await core.step());
    expect(core.stats().kv.usedBlocks).toBeGreaterThan(0);
    core.abort('a');
    core.abort('b');
    core.abort('queued');
    core.abort('nonexistent');
    const outs = await core.step();
    c.accept(outs);
    expect(outs.map((o) => o.requestId).sort()).toEqual(['a', 'b', 'queued']);
    for (const id of ['a', 'b', 'queued']) {
      expect(c.get(id).finished).toBe(true);
    }
    expect(c.get('a').finish).toEqual(['abort']);
    expect(c.get('queued').finish).toEqual(['abort']);
    expect(c.get('queued').tokens).toEqual([[]]);
    expect(core.hasWork()).toBe(false);
    expect(core.stats().kv.usedBlocks).toBe(0);
    expect(core.stats().counters.finished.abort).toBe(4);
    core.checkInvariants();
  });

  it('abort during an in-flight step drops its tokens and frees blocks at the next step', async () => {
    const { core, runner } = makeCore();
    runner.asyncDelay = true;
    core.addRequest({ id: 'a', promptTokenIds: tokens(8, 12), params: greedy({ maxTokens: 50 }) });
    const c = new Collector();
    c.accept(await core.step());
    const pending = core.step();
    core.abort('a');
    c.accept(await pending);
    c.accept(await core.step());
    const r = c.get('a');
    expect(r.finish).toEqual(['abort']);
    expect(r.tokens[0]).toEqual(referenceGreedy(tokens(8, 12), VOCAB, 1));
    expect(core.stats().kv.usedBlocks).toBe(0);
    expect(core.hasWork()).toBe(false);
  });

  it('reports stats in the EngineStats shape', () => {
    const { core } = makeCore({ numBlocks: 100, blockSize: 8 });
    const s = core.stats();
    expect(s.kv).toEqual({
      blockSize: 8,
      totalBlocks: 100,
      usedBlocks: 0,
      usage: 0,
      bytesPerToken: 2 * 2 * 2 * 8 * 4,
      capacityTokens: 800,
    });
    expect(s.prefixCache).toEqual({ queriedTokens: 0, hitTokens: 0, hitRate: 0 });
  });
});

describe('logprobs', () => {
  it('match a hand log-softmax of the raw logits, with top alternatives', async () => {
    const { core } = makeCore();
    const prompt = tokens(9, 7);
    core.addRequest({
      id: 'a',
      promptTokenIds: prompt,
      params: samplingParams({
        temperature: 0.8,
        seed: 3,
        maxTokens: 6,
        logprobs: true,
        topLogprobs: 5,
        ignoreEos: true,
      }),
    });
    const r = (await runUntilIdle(core)).get('a');
    const history = prompt.slice();
    expect(r.logprobs[0]).toHaveLength(6);
    r.tokens[0].forEach((tok, i) => {
      const raw = fakeLogits(prefixState(history), VOCAB);
      const max = Math.max(...raw);
      const lse = max + Math.log(raw.reduce((s, v) => s + Math.exp(v - max), 0));
      const lp = r.logprobs[0][i];
      expect(lp.tokenId).toBe(tok);
      expect(lp.logprob).toBeCloseTo(raw[tok] - lse, 5);
      const order = [...raw.keys()].sort((x, y) => raw[y] - raw[x] || x - y).slice(0, 5);
      expect(lp.top.map((t) => t.tokenId)).toEqual(order);
      lp.top.forEach((t) => expect(t.logprob).toBeCloseTo(raw[t.tokenId] - lse, 5));
      history.push(tok);
    });
  });

  it('are absent unless asked', async () => {
    const { core } = makeCore();
    core.addRequest({ id: 'a', promptTokenIds: [1, 2, 3], params: greedy({ maxTokens: 3 }) });
    expect((await runUntilIdle(core)).get('a').logprobs).toEqual([[]]);
  });
});

describe('end of sequence', () => {
  it('counts stop finishes per choice', async () => {
    const { core } = makeCore({ eosTokenIds: [EOS] });
    // With many sampled requests, some hit the end-of-sequence id 0 and stop.
    for (let i = 0; i < 20; i++) {
      core.addRequest({
        id: `r${i}`,
        promptTokenIds: tokens(100 + i, 5),
        params: samplingParams({ temperature: 5, seed: i, maxTokens: 40 }),
      });
    }
    const c = await runUntilIdle(core);
    const s = core.stats();
    expect(s.counters.finished.stop + s.counters.finished.length).toBe(20);
    for (const [, r] of c.results) {
      const last = r.tokens[0][r.tokens[0].length - 1];
      expect(r.finish[0]).toBe(last === EOS ? 'stop' : 'length');
    }
    expect(s.counters.finished.stop).toBeGreaterThan(0);
  });
});
