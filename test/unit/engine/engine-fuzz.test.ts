/**
 * Seeded fuzzing of the whole core: odd block sizes, tiny pools, tiny budgets, random joins,
 * aborts and host-ended choices. Every request must match its solo run and the KV bookkeeping
 * must stay consistent after every step.
 */
import { describe, expect, it } from 'vitest';
import type { CoreRequest, EngineCoreConfig } from '../../../src/engine/core-types.js';
import { Rng } from '../../../src/engine/rng.js';
import { samplingParams } from '../../../src/shared/sampling.js';
import { Collector, makeCore, runUntilIdle, tokens } from './drive.js';

async function solo(req: CoreRequest, cfg: Partial<EngineCoreConfig>): Promise<number[][]> {
  const { core } = makeCore({ ...cfg, numBlocks: 1024, maxBatchTokens: 4096, maxRunning: 64 });
  core.addRequest(req);
  return (await runUntilIdle(core)).get(req.id).tokens;
}

describe('engine fuzz', () => {
  for (let trial = 0; trial < 8; trial++) {
    it(`trial ${trial}`, async () => {
      const rng = new Rng(900 + trial);
      const pick = (lo: number, hi: number): number => lo + (rng.nextU32() % (hi - lo + 1));
      const blockSize = [1, 2, 3, 4, 5, 8, 16][pick(0, 6)];
      const maxLen = 48;
      const cfg: Partial<EngineCoreConfig> = {
        blockSize,
        // Always room for one request at full length, often not for many.
        numBlocks: Math.ceil((maxLen + 1) / blockSize) + pick(0, 30),
        maxBatchTokens: pick(1, 40),
        maxRunning: pick(1, 12),
        enablePrefixCaching: pick(0, 3) > 0,
        maxModelLen: maxLen,
        eosTokenIds: [0],
      };
      const shared = tokens(trial, 30);
      const reqs: CoreRequest[] = Array.from({ length: 24 }, (_, i) => {
        const own = tokens(trial * 1000 + i, pick(1, 20));
        const prompt = pick(0, 1) ? [...shared.slice(0, pick(1, 25)), ...own] : own;
        return {
          id: `q${i}`,
          promptTokenIds: prompt.slice(0, maxLen - 1),
          params: samplingParams({
            temperature: pick(0, 2) === 0 ? 0 : 0.5 + rng.nextFloat(),
            topK: pick(0, 1) ? pick(1, 30) : 0,
            topP: pick(0, 1) ? 0.5 + rng.nextFloat() * 0.5 : 1,
            seed: i,
            maxTokens: pick(1, 25),
            n: pick(1, 5) === 1 ? pick(2, 3) : 1,
            ignoreEos: pick(0, 1) === 0,
          }),
        };
      });
      const want = new Map<string, number[][]>();
      for (const r of reqs) want.set(r.id, await solo(r, cfg));

      const { core } = makeCore(cfg);
      const c = new Collector();
      const ended = new Map<string, Set<number>>();
      let next = 0;
      for (let step = 0; next < reqs.length || core.hasWork(); step++) {
        expect(step).toBeLessThan(50_000);
        for (let k = pick(0, 2); k > 0 && next < reqs.length; k--) core.addRequest(reqs[next++]);
        if (next > 0 && pick(0, 15) === 0) core.abort(reqs[pick(0, next - 1)].id);
        if (next > 0 && pick(0, 15) === 0) {
          const r = reqs[pick(0, next - 1)];
          const index = pick(0, r.params.n - 1);
          if (!c.results.get(r.id)?.finished) {
            core.finishChoice(r.id, index);
            if (!ended.has(r.id)) ended.set(r.id, new Set());
            ended.get(r.id)!.add(index);
          }
        }
        c.accept(await core.step());
        core.checkInvariants();
      }
      for (const r of reqs) {
        const got = c.get(r.id);
        expect(got.finished).toBe(true);
        for (let i = 0; i < r.params.n; i++) {
          const mine = got.tokens[i] ?? [];
          const truth = want.get(r.id)![i];
          const cut = got.finish[i] === 'abort' || (ended.get(r.id)?.has(i) ?? false);
          if (cut) expect(truth.slice(0, mine.length), `${r.id}/${i}`).toEqual(mine);
          else expect(mine, `${r.id}/${i}`).toEqual(truth);
        }
      }
      expect(core.stats().kv.usedBlocks).toBe(0);
    });
  }
});
