import { describe, expect, it } from 'vitest';
import type { EngineCore } from '../../../../src/engine/engine-core.js';
import { InvalidRequestError } from '../../../../src/shared/errors.js';
import type { SpeculativeMode } from '../../../../src/shared/sampling.js';
import { Collector, EOS, greedy, makeCore, runUntilIdle, tokens } from '../drive.js';
import type { FakeRunner } from '../fake-runner.js';
import { DEFAULT_SPECULATIVE_CONFIG } from '../../../../src/engine/speculative/speculator.js';
import { bigramModel, draftOf, greedyWith, hashModel, makeSpecCore } from './spec-drive.js';

/** Every running sequence holds exactly the blocks of its computed tokens between steps. */
function checkHeldBlocks(core: EngineCore): void {
  for (const seq of core.scheduler.running) {
    expect(seq.blockIds.length).toBe(core.kv.blocksFor(seq.numComputedTokens));
    if (seq.draftComputedTokens !== null)
      expect(seq.draftComputedTokens).toBeLessThanOrEqual(seq.numComputedTokens);
  }
}

async function run(core: EngineCore): Promise<Collector> {
  return runUntilIdle(core, new Collector(), () => checkHeldBlocks(core));
}

/** Steps in which the target verified drafts, and the widest verification. */
function verifications(runner: FakeRunner): { rows: number; maxDrafts: number } {
  let rows = 0;
  let maxDrafts = 0;
  for (const r of runner.log) {
    if (r.numLogits > 1) {
      rows++;
      maxDrafts = Math.max(maxDrafts, r.numLogits - 1);
    }
  }
  return { rows, maxDrafts };
}

describe('speculative decoding in the engine core (fake models)', () => {
  for (const mode of ['draft', 'lookup'] as const) {
    it(`${mode}: greedy output is exactly the target's, 50 prompts in one batch`, async () => {
      const target = mode === 'lookup' ? bigramModel : hashModel;
      const { core, runner, draftRunner } = makeSpecCore({ target, config: { numBlocks: 1024 } });
      const baseline = core.pool.numFreeBlocks;
      for (let i = 0; i < 50; i++) {
        core.addRequest({
          id: `r${i}`,
          promptTokenIds: tokens(100 + i, 3 + (i % 17)),
          params: greedy({ maxTokens: 10 + (i % 23), speculative: mode }),
        });
      }
      const c = await run(core);
      for (let i = 0; i < 50; i++) {
        const want = greedyWith(target, tokens(100 + i, 3 + (i % 17)), 10 + (i % 23));
        expect(c.get(`r${i}`).tokens[0], `request ${i}`).toEqual(want);
        expect(c.get(`r${i}`).finish).toEqual(['length']);
      }
      const s = core.stats();
      expect(s.speculative.proposed).toBeGreaterThan(100);
      expect(s.speculative.accepted).toBeGreaterThan(0);
      expect(s.speculative.accepted).toBeLessThan(s.speculative.proposed);
      expect(s.speculative.meanAcceptedLength).toBeGreaterThan(1);
      expect(s.speculative.meanAcceptedLength).toBeCloseTo(
        (s.speculative.verifications + s.speculative.accepted) / s.speculative.verifications,
        12,
      );
      expect(s.speculative.acceptanceRate).toBeCloseTo(
        s.speculative.accepted / s.speculative.proposed,
        12,
      );
      expect(verifications(runner).rows).toBeGreaterThan(0);
      // Fewer target steps than tokens: speculation did its job.
      expect(s.counters.steps).toBeLessThan(
        Math.max(...[...c.results.values()].map((r) => r.tokens[0].length)) + 30,
      );
      expect(core.pool.numFreeBlocks).toBe(baseline);
      expect(s.kv.usedBlocks).toBe(0);
      // The draft never computed anything twice.
      expect(draftRunner!.identicalWrites).toBe(0);
    });
  }

  it('a request can pick its mode; the engine default covers the rest', async () => {
    const { core, runner } = makeSpecCore({ speculative: { defaultMode: 'draft' } });
    const modes: (SpeculativeMode | undefined)[] = [undefined, 'off', 'lookup', 'draft'];
    modes.forEach((speculative, i) =>
      core.addRequest({
        id: `m${i}`,
        promptTokenIds: tokens(7 + i, 9),
        params: greedy({ maxTokens: 24, speculative }),
      }),
    );
    const c = await run(core);
    modes.forEach((_, i) =>
      expect(c.get(`m${i}`).tokens[0]).toEqual(greedyWith(hashModel, tokens(7 + i, 9), 24)),
    );
    const offSeq = 1; // sequence ids follow arrival
    expect(runner.log.filter((r) => r.seqId === offSeq).every((r) => r.numLogits <= 1)).toBe(true);
    expect(runner.log.some((r) => r.seqId === 0 && r.numLogits > 1)).toBe(true);
    expect(runner.log.some((r) => r.seqId === 3 && r.numLogits > 1)).toBe(true);
  });

  it('rejects an unknown mode', () => {
    const { core } = makeSpecCore();
    expect(() =>
      core.addRequest({
        id: 'bad',
        promptTokenIds: [1, 2],
        params: greedy({ speculative: 'medusa' as SpeculativeMode }),
      }),
    ).toThrow(InvalidRequestError);
  });

  it('draft mode takes prompt-lookup proposals when they promise more', async () => {
    const run1 = async (draftUsesLookup: boolean) => {
      const { core, draftRunner } = makeSpecCore({
        target: bigramModel,
        speculative: { draftUsesLookup, defaultMode: 'draft' },
      });
      const prompt = tokens(21, 10);
      core.addRequest({ id: 'a', promptTokenIds: prompt, params: greedy({ maxTokens: 80 }) });
      const c = await run(core);
      expect(c.get('a').tokens[0]).toEqual(greedyWith(bigramModel, prompt, 80));
      return { draftCalls: draftRunner!.executeCalls, steps: core.stats().counters.steps };
    };
    const hybrid = await run1(true);
    const pure = await run1(false);
    // Once the output loops, lookup proposes it for free and the draft model rests.
    expect(hybrid.draftCalls).toBeLessThan(pure.draftCalls / 2);
    expect(hybrid.steps).toBeLessThanOrEqual(pure.steps);
  });

  it('without a draft model, draft requests decode plainly', async () => {
    const { core, runner } = makeSpecCore({ draft: null });
    core.addRequest({
      id: 'a',
      promptTokenIds: tokens(3, 8),
      params: greedy({ maxTokens: 12, speculative: 'draft' }),
    });
    const c = await run(core);
    expect(c.get('a').tokens[0]).toEqual(greedyWith(hashModel, tokens(3, 8), 12));
    expect(verifications(runner).rows).toBe(0);
  });

  it('switches itself off while more sequences run than the threshold', async () => {
    const { core, runner, draftRunner } = makeSpecCore({
      speculative: { maxRunning: 3, defaultMode: 'draft' },
    });
    for (let i = 0; i < 6; i++) {
      core.addRequest({
        id: `t${i}`,
        promptTokenIds: tokens(40 + i, 6),
        params: greedy({ maxTokens: 8 + 6 * i }),
      });
    }
    const perCall = new Map<number, { rows: number; spec: boolean }>();
    // Six arrivals at once: the draft model does not even prefill them.
    const c = new Collector();
    c.accept(await core.step());
    expect(draftRunner!.executeCalls).toBe(0);
    await runUntilIdle(core, c, () => checkHeldBlocks(core));
    for (const r of runner.log) {
      const e = perCall.get(r.call) ?? { rows: 0, spec: false };
      e.rows++;
      e.spec ||= r.numLogits > 1;
      perCall.set(r.call, e);
    }
    const specCalls = [...perCall.values()].filter((e) => e.spec);
    expect(specCalls.length).toBeGreaterThan(0);
    for (const e of specCalls) expect(e.rows).toBeLessThanOrEqual(3);
    for (let i = 0; i < 6; i++)
      expect(c.get(`t${i}`).tokens[0]).toEqual(greedyWith(hashModel, tokens(40 + i, 6), 8 + 6 * i));
  });

  it('adapts the draft length to the acceptance rate, and stops drafting when it does not pay', async () => {
    const late = async (disagree: number) => {
      const { core, runner } = makeSpecCore({
        draft: draftOf(hashModel, disagree),
        speculative: { minDrafts: 1, maxDrafts: 6 },
      });
      core.addRequest({
        id: 'a',
        promptTokenIds: tokens(5, 8),
        params: greedy({ maxTokens: 300, speculative: 'draft' }),
      });
      await run(core);
      // The second half of the target's steps.
      const rows = runner.log.slice(runner.log.length >> 1);
      const verify = rows.filter((r) => r.numLogits > 1);
      return {
        depth: verify.reduce((a, r) => a + r.numLogits - 1, 0) / Math.max(1, verify.length),
        share: verify.length / rows.length,
      };
    };
    const good = await late(0);
    expect(good.depth).toBeGreaterThan(5);
    expect(good.share).toBe(1);
    // A draft that is nearly always wrong: plain decoding, with a rare probe.
    const bad = await late(0.95);
    expect(bad.share).toBeGreaterThan(0);
    expect(bad.share).toBeLessThan(0.1);
  });

  it('with the shipped cost model, a draft that is always right pays from its first probe', async () => {
    // The default costs and prior say drafting does not pay until a sequence shows otherwise.
    // A probe of one draft barely can (k = 1 at full acceptance is ~1× plain decoding), so it
    // took several doubling waits; a probe of several drafts shows it at once.
    const { core, runner } = makeSpecCore({
      draft: draftOf(hashModel, 0),
      speculative: { draftCost: DEFAULT_SPECULATIVE_CONFIG.draftCost },
    });
    const prompt = tokens(21, 7);
    core.addRequest({
      id: 'a',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 120, speculative: 'draft' }),
    });
    await run(core);
    const verify = runner.log.filter((r) => r.numLogits > 1);
    const probe = verify[0];
    expect(probe.startPosition).toBeLessThan(prompt.length + 20); // PROBE_EVERY
    // Deep drafting right after the probe, and from then on.
    const deep = verify.find((r) => r.numLogits - 1 >= 4 && r !== probe)!;
    expect(deep.startPosition).toBeLessThan(probe.startPosition + 10);
  });

  it("a new request starts from the draft's recent record, not the cautious prior", async () => {
    const { core, runner } = makeSpecCore({
      draft: draftOf(hashModel, 0),
      speculative: { draftCost: DEFAULT_SPECULATIVE_CONFIG.draftCost },
    });
    const ask = async (id: string, seed: number) => {
      core.addRequest({
        id,
        promptTokenIds: tokens(seed, 7),
        params: greedy({ maxTokens: 60, speculative: 'draft' }),
      });
      await run(core);
    };
    await ask('first', 31);
    const seen = runner.log.length;
    await ask('second', 32);
    const second = runner.log.slice(seen);
    // Its first decode step after the prompt already verifies a full set of drafts.
    const firstDecode = second.find((r) => r.startPosition >= 7)!;
    expect(firstDecode.numLogits - 1).toBeGreaterThanOrEqual(4);
  });

  it('stops inside an accepted run of drafts at an end-of-sequence or stop token', async () => {
    const prompt = tokens(11, 7);
    const ref = greedyWith(hashModel, prompt, 30);
    const { core } = makeSpecCore({
      config: { eosTokenIds: [ref[9]] },
      draft: draftOf(hashModel, 0),
    });
    const base = core.pool.numFreeBlocks;
    core.addRequest({
      id: 'eos',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 30, ignoreEos: false, speculative: 'draft' }),
    });
    core.addRequest({
      id: 'stop',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 30, stopTokenIds: [ref[13]], speculative: 'draft' }),
    });
    core.addRequest({
      id: 'len',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 7, speculative: 'draft' }),
    });
    const c = await run(core);
    expect(c.get('eos').tokens[0]).toEqual(ref.slice(0, ref.indexOf(ref[9]) + 1));
    expect(c.get('eos').finish).toEqual(['stop']);
    expect(c.get('stop').tokens[0]).toEqual(ref.slice(0, ref.indexOf(ref[13]) + 1));
    expect(c.get('len').tokens[0]).toEqual(ref.slice(0, 7));
    expect(c.get('len').finish).toEqual(['length']);
    expect(core.pool.numFreeBlocks).toBe(base);
  });

  it('stays within the context length', async () => {
    const { core, runner } = makeSpecCore({
      config: { maxModelLen: 30 },
      draft: draftOf(hashModel, 0),
    });
    const prompt = tokens(12, 11);
    core.addRequest({
      id: 'a',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 100, speculative: 'draft' }),
    });
    const c = await run(core);
    expect(c.get('a').tokens[0]).toEqual(greedyWith(hashModel, prompt, 19));
    expect(c.get('a').finish).toEqual(['length']);
    for (const r of runner.log) expect(r.startPosition + r.tokenIds.length).toBeLessThanOrEqual(30);
  });

  it('penalties, logit bias and logprobs match plain decoding', async () => {
    for (const mode of ['draft', 'lookup'] as const) {
      const target = mode === 'lookup' ? bigramModel : hashModel;
      const params = greedy({
        maxTokens: 40,
        repetitionPenalty: 1.15,
        presencePenalty: 0.4,
        frequencyPenalty: 0.3,
        logitBias: { 5: 1.5, 9: -2 },
        logprobs: true,
        topLogprobs: 3,
      });
      const { core: plain } = makeSpecCore({ target, draft: null });
      const { core: spec } = makeSpecCore({ target });
      for (let i = 0; i < 8; i++) {
        plain.addRequest({ id: `p${i}`, promptTokenIds: tokens(60 + i, 12), params });
        spec.addRequest({
          id: `p${i}`,
          promptTokenIds: tokens(60 + i, 12),
          params: { ...params, speculative: mode },
        });
      }
      const a = await run(plain);
      const b = await run(spec);
      for (let i = 0; i < 8; i++) {
        expect(b.get(`p${i}`).tokens, `${mode} ${i}`).toEqual(a.get(`p${i}`).tokens);
        expect(b.get(`p${i}`).logprobs).toEqual(a.get(`p${i}`).logprobs);
      }
      expect(spec.stats().speculative.accepted).toBeGreaterThan(0);
    }
  });

  it('keeps KV bookkeeping balanced under preemption', async () => {
    const { core } = makeSpecCore({
      config: { numBlocks: 24, blockSize: 4, maxBatchTokens: 64 },
      speculative: { defaultMode: 'draft' },
    });
    for (let i = 0; i < 10; i++) {
      core.addRequest({
        id: `q${i}`,
        promptTokenIds: tokens(80 + i, 5 + i),
        params: greedy({ maxTokens: 20 + i }),
      });
    }
    const c = await run(core);
    for (let i = 0; i < 10; i++)
      expect(c.get(`q${i}`).tokens[0]).toEqual(
        greedyWith(hashModel, tokens(80 + i, 5 + i), 20 + i),
      );
    expect(core.stats().counters.preemptions).toBeGreaterThan(0);
    expect(core.pool.numFreeBlocks).toBe(24);
  });

  it('rejected slots never reach the prefix cache; the draft reuses blocks it filled', async () => {
    const { core, draftRunner } = makeSpecCore({ config: { blockSize: 4 } });
    const prompt = tokens(90, 10);
    core.addRequest({
      id: 'first',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 40, speculative: 'draft' }),
    });
    const first = (await run(core)).get('first').tokens[0];
    expect(core.stats().speculative.accepted).toBeLessThan(core.stats().speculative.proposed);
    // A prompt made of the first output hits every block it left in the cache: the target would
    // throw on any slot holding a rejected draft, and the answer must still be exact.
    const again = [...prompt, ...first.slice(0, 30)];
    const draftLogStart = draftRunner!.log.length;
    core.addRequest({
      id: 'second',
      promptTokenIds: again,
      params: greedy({ maxTokens: 10, speculative: 'draft' }),
    });
    const c = await run(core);
    expect(c.get('second').cachedPromptTokens).toBeGreaterThanOrEqual(32);
    expect(c.get('second').tokens[0]).toEqual(greedyWith(hashModel, again, 10));
    // The draft model did not recompute the blocks it had filled for the first request.
    const firstDraftRow = draftRunner!.log[draftLogStart];
    expect(firstDraftRow.startPosition).toBeGreaterThanOrEqual(28);
    expect(draftRunner!.identicalWrites).toBe(0);
  });

  it('draft requests after a lookup request catch up over shared blocks the draft never filled', async () => {
    const { core, draftRunner } = makeSpecCore({ config: { blockSize: 4 } });
    const prompt = tokens(91, 21);
    core.addRequest({
      id: 'lk',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 5, speculative: 'lookup' }),
    });
    await run(core);
    core.addRequest({
      id: 'd1',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 12, speculative: 'draft' }),
    });
    core.addRequest({
      id: 'd2',
      promptTokenIds: prompt,
      params: greedy({ maxTokens: 12, speculative: 'draft' }),
    });
    const c = await run(core);
    expect(c.get('d1').cachedPromptTokens).toBe(20);
    expect(c.get('d1').tokens[0]).toEqual(greedyWith(hashModel, prompt, 12));
    expect(c.get('d2').tokens[0]).toEqual(greedyWith(hashModel, prompt, 12));
    expect(draftRunner!.log.some((r) => r.startPosition === 0)).toBe(true);
    // Both caught up over the same shared prompt blocks in one step: harmless, identical KV.
    expect(draftRunner!.identicalWrites).toBeGreaterThan(0);
  });

  it('n > 1 choices each speculate after the fork', async () => {
    const { core } = makeSpecCore({ speculative: { defaultMode: 'draft' } });
    const prompt = tokens(33, 14);
    core.addRequest({ id: 'n', promptTokenIds: prompt, params: greedy({ n: 3, maxTokens: 25 }) });
    const c = await run(core);
    const want = greedyWith(hashModel, prompt, 25);
    expect(c.get('n').tokens).toEqual([want, want, want]);
    expect(core.stats().speculative.accepted).toBeGreaterThan(0);
  });

  it('n > 1 whose prompt ends on a one-token prefill chunk: every choice finishes', async () => {
    for (const mode of ['draft', 'lookup'] as const) {
      // A 9-token prompt in chunks of 8 leaves one token: the unforked prompt sequence then
      // looks like a decode; it must fork, not verify drafts for choice 0 alone.
      const { core } = makeSpecCore({
        speculative: { defaultMode: mode },
        config: { maxBatchTokens: 8 },
      });
      const prompt = tokens(41, 9);
      core.addRequest({ id: 'n', promptTokenIds: prompt, params: greedy({ n: 2, maxTokens: 12 }) });
      const c = await run(core);
      const want = greedyWith(hashModel, prompt, 12);
      expect(c.get('n').tokens, mode).toEqual([want, want]);
      expect(c.get('n').finish, mode).toEqual(['length', 'length']);
      expect(core.hasWork()).toBe(false);
    }
  });

  it('aborts mid-speculation free everything', async () => {
    const { core } = makeSpecCore({ speculative: { defaultMode: 'draft' } });
    const base = core.pool.numFreeBlocks;
    for (let i = 0; i < 4; i++)
      core.addRequest({
        id: `x${i}`,
        promptTokenIds: tokens(i, 9),
        params: greedy({ maxTokens: 60 }),
      });
    const collector = new Collector();
    for (let s = 0; s < 6; s++) collector.accept(await core.step());
    core.abort('x1');
    core.abort('x2');
    await runUntilIdle(core, collector);
    expect(collector.get('x1').finish).toEqual(['abort']);
    expect(collector.get('x3').tokens[0]).toEqual(greedyWith(hashModel, tokens(3, 9), 60));
    expect(core.pool.numFreeBlocks).toBe(base);
  });

  it('seeded sampling with speculation is reproducible', async () => {
    const sample = async (): Promise<number[][]> => {
      const { core } = makeSpecCore({ speculative: { defaultMode: 'draft' } });
      for (let i = 0; i < 4; i++) {
        core.addRequest({
          id: `s${i}`,
          promptTokenIds: tokens(i, 6),
          params: greedy({ temperature: 0.8, topK: 20, seed: 99 + i, maxTokens: 30 }),
        });
      }
      const c = await run(core);
      return [0, 1, 2, 3].map((i) => c.get(`s${i}`).tokens[0]);
    };
    expect(await sample()).toEqual(await sample());
  });

  it('a seed fixes the text: speculation off, draft or lookup, alone or in a crowd', async () => {
    // Speculation switches itself off with the load (maxRunning), so a seeded request's text
    // must not depend on whether it ran: drafts are accepted only where they are plain
    // sampling's own draw.
    const params = (i: number, mode: SpeculativeMode) =>
      greedy({
        temperature: 0.3,
        topP: 0.95,
        seed: 400 + i,
        maxTokens: 40,
        speculative: mode,
        repetitionPenalty: i % 2 === 0 ? 1.1 : 1,
        n: i === 3 ? 2 : 1,
      });
    const texts = async (mode: SpeculativeMode, crowd: number, maxRunning: number) => {
      const { core } = makeSpecCore({
        target: bigramModel,
        draft: draftOf(bigramModel, 0.2),
        config: { numBlocks: 1024 },
        speculative: { maxRunning, lookupMinN: 1 },
      });
      for (let i = 0; i < 4; i++)
        core.addRequest({ id: `s${i}`, promptTokenIds: tokens(i, 7), params: params(i, mode) });
      // Unseeded sampled neighbours: they change the batch, and with it whether speculation runs.
      for (let i = 0; i < crowd; i++) {
        core.addRequest({
          id: `c${i}`,
          promptTokenIds: tokens(50 + i, 5),
          params: greedy({ temperature: 1, maxTokens: 20 + (i % 7), speculative: mode }),
        });
      }
      const c = await run(core);
      const s = core.stats().speculative;
      return { out: [0, 1, 2, 3].map((i) => c.get(`s${i}`).tokens), accepted: s.accepted };
    };
    const plain = await texts('off', 0, 1_000_000);
    for (const mode of ['draft', 'lookup'] as const) {
      const alone = await texts(mode, 0, 1_000_000);
      expect(alone.accepted).toBeGreaterThan(20);
      expect(alone.out).toEqual(plain.out);
      // Crowded: speculation is off while more than 6 run, on again as they finish.
      expect((await texts(mode, 12, 6)).out).toEqual(plain.out);
    }
  });

  it('plain engines are unchanged: no draft calls, no multi-logit rows', async () => {
    const { core, runner } = makeCore();
    core.addRequest({
      id: 'a',
      promptTokenIds: tokens(1, 5),
      params: greedy({ maxTokens: 9, n: 2 }),
    });
    await runUntilIdle(core);
    expect(verifications(runner).rows).toBe(0);
    expect(core.stats().speculative).toEqual({
      proposed: 0,
      accepted: 0,
      verifications: 0,
      acceptanceRate: 0,
      meanAcceptedLength: 0,
    });
    expect(EOS).toBe(0);
  });
});
