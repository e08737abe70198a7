import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openModelSession } from '../../src/engine/onnx-session.js';
import { OnnxRunner, WIDE_MIN_TOKENS } from '../../src/engine/onnx-runner.js';
import { ReferenceModel } from '../../src/engine/reference-loop.js';
import { loadModelTokenizer } from '../../src/engine/model-tokenizer.js';
import type { RunnerSequence } from '../../src/engine/runner-types.js';
import type { GraphSignature } from '../../src/engine/model-config.js';
import { CHAT_MODEL, promptText } from './engine-helpers.js';

let reference: ReferenceModel;
let runner: OnnxRunner;
let prompts: number[][];

/**
 * The shipped graphs return new_key_values, so the runner keeps dense past buffers and appends in
 * place; graphs with only `present` (Hugging Face exports) take the other path. Both run here.
 */
const VARIANTS = ['new_key_values', 'present only'] as const;
type Variant = (typeof VARIANTS)[number];
const runners = {} as Record<Variant, OnnxRunner>;

function signatureFor(variant: Variant, sig: GraphSignature): GraphSignature {
  return variant === 'present only' ? { ...sig, newKv: null } : sig;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Block tables from a simple bump allocator: each sequence gets its own fresh blocks. */
class Blocks {
  private next = 0;
  table(tokens: number, blockSize: number): number[] {
    const n = Math.ceil(tokens / blockSize);
    const out = Array.from({ length: n }, (_, i) => this.next + i);
    this.next += n;
    return out;
  }
}

beforeAll(async () => {
  reference = await ReferenceModel.open(CHAT_MODEL, { threads: 2 });
  for (const variant of VARIANTS) {
    // The in-place runner opens the graph as the engine does: present pruned.
    const session = await openModelSession(CHAT_MODEL, {
      executionProvider: 'cpu',
      threads: 2,
      ownKvCache: variant === 'new_key_values',
    });
    expect(session.signature.newKv).not.toBeNull(); // the shipped graph has both
    expect(session.signature.present.length).toBe(variant === 'new_key_values' ? 0 : 4);
    runners[variant] = new OnnxRunner(
      session.session,
      session.config,
      signatureFor(variant, session.signature),
      { kvCacheBytes: 16 * 1024 * 1024, blockSize: 16 },
    );
  }
  const tok = await loadModelTokenizer(CHAT_MODEL);
  prompts = [promptText(1, 60), promptText(2, 25), promptText(3, 9), promptText(4, 40)].map((t) =>
    tok.encode(t, { addSpecialTokens: false }),
  );
});

afterAll(async () => {
  for (const r of Object.values(runners)) await r.close();
  await reference?.close();
});

describe.each(VARIANTS)('OnnxRunner over paged KV blocks (%s)', (variant) => {
  beforeAll(() => {
    runner = runners[variant];
  });

  it('sizes the block pool from the KV budget', () => {
    const g = runner.geometry;
    const perToken = 2 * g.numLayers * g.numKvHeads * g.headDim * g.dtypeBytes;
    expect(runner.numBlocks).toBe(Math.floor((16 * 1024 * 1024) / (16 * perToken)));
    expect(runner.kv.bytes).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('chunked prefill through block tables gives the dense single call logits (1e-4)', async () => {
    const blocks = new Blocks();
    const prompt = prompts[0];
    const dense = await reference.logits(prompt);
    const V = runner.vocabSize;
    const table = blocks.table(prompt.length, runner.blockSize);
    // Uneven chunks that cross block boundaries; every position asks for its logits.
    const chunks = [7, 13, 1, 20];
    let start = 0;
    let ci = 0;
    while (start < prompt.length) {
      const len = Math.min(chunks[ci++ % chunks.length], prompt.length - start);
      const seq: RunnerSequence = {
        seqId: 1,
        tokenIds: prompt.slice(start, start + len),
        startPosition: start,
        blockTable: table,
        numLogits: len,
      };
      const out = await runner.execute([seq]);
      const got = out.logits.get(1)!;
      expect(maxAbsDiff(got, dense.subarray(start * V, (start + len) * V))).toBeLessThan(1e-4);
      start += len;
    }
  });

  it('mixed batches (decodes + padded prefill chunks of different lengths) match dense logits', async () => {
    const blocks = new Blocks();
    const V = runner.vocabSize;
    const dense = await Promise.all(prompts.map((p) => reference.logits(p)));
    const tables = prompts.map((p) => blocks.table(p.length, runner.blockSize));
    const done = prompts.map(() => 0);
    // Each step advances every unfinished prompt by a different amount, so one call mixes
    // 1-token rows with chunks and pasts of different lengths.
    const pattern = [
      [5, 3, 1, 17],
      [1, 9, 4, 1],
      [30, 1, 1, 6],
      [1, 12, 3, 16],
    ];
    for (let step = 0; done.some((d, i) => d < prompts[i].length); step++) {
      const seqs: RunnerSequence[] = [];
      prompts.forEach((p, i) => {
        if (done[i] >= p.length) return;
        const len = Math.min(pattern[step % pattern.length][i], p.length - done[i]);
        seqs.push({
          seqId: i,
          tokenIds: p.slice(done[i], done[i] + len),
          startPosition: done[i],
          blockTable: tables[i],
          numLogits: Math.min(len, 2),
        });
      });
      const out = await runner.execute(seqs);
      for (const s of seqs) {
        const end = s.startPosition + s.tokenIds.length;
        const want = dense[s.seqId].subarray((end - s.numLogits) * V, end * V);
        expect(maxAbsDiff(out.logits.get(s.seqId)!, want)).toBeLessThan(1e-4);
        done[s.seqId] = end;
      }
    }
  });

  it('consecutive decode steps (dense carry between calls) match dense logits as rows join and leave', async () => {
    const blocks = new Blocks();
    const V = runner.vocabSize;
    const rows = [prompts[0], prompts[1], prompts[3]];
    const dense = await Promise.all(rows.map((p) => reference.logits(p)));
    const tables = rows.map((p) => blocks.table(p.length, runner.blockSize));
    // Prefill all but the last 8 tokens, then feed those one at a time as decode steps.
    const done = rows.map((p) => p.length - 8);
    await runner.execute(
      rows.map((p, i) => ({
        seqId: 20 + i,
        tokenIds: p.slice(0, done[i]),
        startPosition: 0,
        blockTable: tables[i],
        numLogits: 0,
      })),
    );
    // Step 3 leaves row 1 out (the carried batch breaks), step 4 brings it back.
    const active = [
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
      [0, 2],
      [0, 1, 2],
      [0, 1, 2],
      [1, 2],
      [1, 2],
      [1],
      [0],
      [0],
      [0],
    ];
    const carriedBefore = runner.counters.carriedCalls;
    for (const step of active) {
      const seqs: RunnerSequence[] = step
        .filter((i) => done[i] < rows[i].length)
        .map((i) => ({
          seqId: 20 + i,
          tokenIds: [rows[i][done[i]]],
          startPosition: done[i],
          blockTable: tables[i],
          numLogits: 1,
        }));
      const out = await runner.execute(seqs);
      for (const s of seqs) {
        const i = s.seqId - 20;
        expect(
          maxAbsDiff(out.logits.get(s.seqId)!, dense[i].subarray(done[i] * V, (done[i] + 1) * V)),
        ).toBeLessThan(1e-4);
        done[i]++;
      }
    }
    expect(done).toEqual(rows.map((p) => p.length));
    // Unchanged consecutive batches reused the previous presents: steps 2, 3, 6, 8 and 11.
    expect(runner.counters.carriedCalls - carriedBefore).toBe(5);
  });

  it('decode batches split into several calls keep carrying and match dense logits', async () => {
    const session = await openModelSession(CHAT_MODEL, {
      executionProvider: 'cpu',
      threads: 2,
      ownKvCache: variant === 'new_key_values',
    });
    // A tiny slot budget: 16 rows of ~30-70 positions become 2 calls of 8.
    const split = new OnnxRunner(
      session.session,
      session.config,
      signatureFor(variant, session.signature),
      {
        kvCacheBytes: 16 * 1024 * 1024,
        blockSize: 16,
        decodeSlots: 256,
      },
    );
    try {
      const tok = await loadModelTokenizer(CHAT_MODEL);
      const rows = Array.from({ length: 16 }, (_, i) =>
        tok.encode(promptText(40 + i, 8 + ((i * 5) % 30)), { addSpecialTokens: false }),
      );
      const V = split.vocabSize;
      const dense = await Promise.all(rows.map((p) => reference.logits(p)));
      const blocks = new Blocks();
      const tables = rows.map((p) => blocks.table(p.length, split.blockSize));
      const done = rows.map((p) => p.length - 5);
      await split.execute(
        rows.map((p, i) => ({
          seqId: i,
          tokenIds: p.slice(0, done[i]),
          startPosition: 0,
          blockTable: tables[i],
          numLogits: 0,
        })),
      );
      for (let step = 0; step < 5; step++) {
        const seqs: RunnerSequence[] = rows.map((p, i) => ({
          seqId: i,
          tokenIds: [p[done[i]]],
          startPosition: done[i],
          blockTable: tables[i],
          numLogits: 1,
        }));
        const calls = split.counters.calls;
        const out = await split.execute(seqs);
        expect(split.counters.calls - calls).toBe(2);
        for (const s of seqs) {
          const i = s.seqId;
          const want = dense[i].subarray(done[i] * V, (done[i] + 1) * V);
          expect(maxAbsDiff(out.logits.get(i)!, want)).toBeLessThan(1e-4);
          done[i]++;
        }
      }
      // After the first decode step, both calls of every step reuse their own carried presents.
      expect(split.counters.carriedCalls).toBe(8);
    } finally {
      await split.close();
    }
  });

  it('copyBlock carries keys and values to a new block (copy-on-write)', async () => {
    const blocks = new Blocks();
    const prompt = prompts[2];
    const V = runner.vocabSize;
    const dense = await reference.logits(prompt);
    const table = blocks.table(prompt.length, runner.blockSize);
    const cut = prompt.length - 1;
    await runner.execute([
      {
        seqId: 7,
        tokenIds: prompt.slice(0, cut),
        startPosition: 0,
        blockTable: table,
        numLogits: 0,
      },
    ]);
    const copy = blocks.table(runner.blockSize, runner.blockSize)[0];
    const last = table.length - 1;
    runner.copyBlock(table[last], copy);
    const forked = [...table.slice(0, last), copy];
    const out = await runner.execute([
      {
        seqId: 8,
        tokenIds: prompt.slice(cut),
        startPosition: cut,
        blockTable: forked,
        numLogits: 1,
      },
    ]);
    expect(maxAbsDiff(out.logits.get(8)!, dense.subarray(cut * V, (cut + 1) * V))).toBeLessThan(
      1e-4,
    );
  });

  it('decodes past the dense buffer headroom (re-gathered once it is full) and still matches', async () => {
    const tok = await loadModelTokenizer(CHAT_MODEL);
    const p = tok.encode(promptText(77, 80), { addSpecialTokens: false });
    const steps = 45;
    expect(p.length).toBeGreaterThan(steps + 10);
    const V = runner.vocabSize;
    const dense = await reference.logits(p);
    const table = new Blocks().table(p.length, runner.blockSize);
    let done = p.length - steps;
    await runner.execute([
      { seqId: 50, tokenIds: p.slice(0, done), startPosition: 0, blockTable: table, numLogits: 0 },
    ]);
    const calls = runner.counters.calls;
    const carried = runner.counters.carriedCalls;
    for (let i = 0; i < steps; i++) {
      const out = await runner.execute([
        { seqId: 50, tokenIds: [p[done]], startPosition: done, blockTable: table, numLogits: 1 },
      ]);
      const want = dense.subarray(done * V, (done + 1) * V);
      expect(maxAbsDiff(out.logits.get(50)!, want)).toBeLessThan(1e-4);
      done++;
    }
    expect(runner.counters.calls - calls).toBe(steps);
    // The first step gathers; in place, one more gather when the 32 spare slots run out.
    const gathers = variant === 'new_key_values' ? 2 : 1;
    expect(runner.counters.carriedCalls - carried).toBe(steps - gathers);
  });

  it('verification-shaped calls that roll back keep their dense past per row and match dense logits', async () => {
    // Two rows verify "drafts" each step: the first accepted+1 tokens are the prompt's own, the
    // rest wrong tokens whose keys and values the next call must not see. Rows accept different
    // counts, so their pasts grow unevenly inside one carried buffer.
    const blocks = new Blocks();
    const V = runner.vocabSize;
    const rows = [prompts[0], prompts[3]];
    const dense = await Promise.all(rows.map((p) => reference.logits(p)));
    const tables = rows.map((p) => blocks.table(p.length + 8, runner.blockSize));
    const done = rows.map(() => 12);
    await runner.execute(
      rows.map((p, i) => ({
        seqId: 60 + i,
        tokenIds: p.slice(0, done[i]),
        startPosition: 0,
        blockTable: tables[i],
        numLogits: 0,
      })),
    );
    const accepts = [
      [3, 0],
      [0, 4],
      [2, 2],
      [4, 1],
      [1, 3],
      [0, 0],
      [3, 4],
    ];
    const carried = runner.counters.carriedCalls;
    for (const step of accepts) {
      const seqs: RunnerSequence[] = rows.map((p, i) => {
        const k = 4;
        const real = p.slice(done[i], done[i] + step[i] + 1);
        const wrong = Array.from({ length: k + 1 - real.length }, (_, j) => 100 + j + step[i]);
        return {
          seqId: 60 + i,
          tokenIds: [...real, ...wrong],
          startPosition: done[i],
          blockTable: tables[i],
          numLogits: k + 1,
        };
      });
      const out = await runner.execute(seqs);
      rows.forEach((_, i) => {
        const valid = step[i] + 1;
        const got = out.logits.get(60 + i)!.subarray(0, valid * V);
        const want = dense[i].subarray(done[i] * V, (done[i] + valid) * V);
        expect(maxAbsDiff(got, want)).toBeLessThan(1e-4);
        done[i] += valid;
      });
    }
    expect(done.every((d, i) => d <= rows[i].length)).toBe(true);
    // In place, every step reuses the buffer: the 12-token prefill is short enough to start one,
    // and its spare slots last the test.
    const expected = variant === 'new_key_values' ? accepts.length : 0;
    expect(runner.counters.carriedCalls - carried).toBe(expected);
  });

  it('rejects a block table that does not cover the tokens', async () => {
    await expect(
      runner.execute([
        { seqId: 1, tokenIds: [1, 2, 3], startPosition: 30, blockTable: [0], numLogits: 1 },
      ]),
    ).rejects.toThrow(/block table/);
  });
});

describe('OnnxRunner dense past buffers', () => {
  it('a batch after another one reuses its buffer rather than allocating a new one', async () => {
    const model = await openModelSession(CHAT_MODEL, {
      executionProvider: 'cpu',
      threads: 1,
      ownKvCache: true,
    });
    const r = new OnnxRunner(model.session, model.config, model.signature, {
      kvCacheBytes: 16 * 1024 * 1024,
      blockSize: 16,
    });
    try {
      const blocks = new Blocks();
      // Two batches of the same shape, one after the other, as two bursts of requests are:
      // a prefill chunk, then decode steps that carry their dense past between calls.
      const batch = async (firstSeqId: number) => {
        const rows = [prompts[0], prompts[3]].map((p, i) => ({
          seqId: firstSeqId + i,
          tokens: p,
          table: blocks.table(p.length, r.blockSize),
        }));
        await r.execute(
          rows.map((x) => ({
            seqId: x.seqId,
            tokenIds: x.tokens.slice(0, 16),
            startPosition: 0,
            blockTable: x.table,
            numLogits: 1,
          })),
        );
        for (let pos = 16; pos < 20; pos++) {
          await r.execute(
            rows.map((x) => ({
              seqId: x.seqId,
              tokenIds: [x.tokens[pos]],
              startPosition: pos,
              blockTable: x.table,
              numLogits: 1,
            })),
          );
        }
      };
      await batch(100);
      const first = r.denseSetsAllocated;
      expect(first).toBeGreaterThan(0);
      expect(r.counters.carriedCalls).toBeGreaterThan(0);
      // The first batch's carried buffer goes back before the second batch takes one.
      await batch(200);
      await batch(300);
      expect(r.denseSetsAllocated).toBe(first);
    } finally {
      await r.close();
    }
  });
});

describe('OnnxRunner with a wide session (a replica alone on the cores)', () => {
  it('opens one only when it has more threads, and only on the CPU', async () => {
    const same = await openModelSession(CHAT_MODEL, {
      executionProvider: 'cpu',
      threads: 2,
      ownKvCache: true,
      wideThreads: 2,
    });
    expect(same.wideSession).toBeNull();
    await same.session.release();
  });

  it('runs large calls on it while alone, small ones on one thread, with the same logits', async () => {
    const model = await openModelSession(CHAT_MODEL, {
      executionProvider: 'cpu',
      threads: 1,
      ownKvCache: true,
      wideThreads: 2,
    });
    expect(model.wideSession).not.toBeNull();
    let alone = true;
    const r = new OnnxRunner(model.session, model.config, model.signature, {
      kvCacheBytes: 16 * 1024 * 1024,
      blockSize: 16,
      wide: { session: model.wideSession!, when: () => alone },
    });
    try {
      const tok = await loadModelTokenizer(CHAT_MODEL);
      const prompt = tok.encode(promptText(11, 400), { addSpecialTokens: false });
      const big = WIDE_MIN_TOKENS + 20;
      expect(prompt.length).toBeGreaterThan(2 * big + 4);
      const V = r.vocabSize;
      const dense = await reference.logits(prompt);
      const table = new Blocks().table(prompt.length, r.blockSize);
      // [tokens, alone, expected on the wide session]: a large chunk while alone, one-token
      // steps while alone (too small), a large chunk while another replica works.
      const plan: Array<[number, boolean, boolean]> = [
        [big, true, true],
        [1, true, false],
        [1, true, false],
        [big, false, false],
        [1, false, false],
      ];
      let start = 0;
      for (const [len, flag, wide] of plan) {
        alone = flag;
        const before = r.counters.wideCalls;
        const out = await r.execute([
          {
            seqId: 7,
            tokenIds: prompt.slice(start, start + len),
            startPosition: start,
            blockTable: table,
            numLogits: len,
          },
        ]);
        expect(r.counters.wideCalls - before).toBe(wide ? 1 : 0);
        const got = out.logits.get(7)!;
        expect(maxAbsDiff(got, dense.subarray(start * V, (start + len) * V))).toBeLessThan(1e-4);
        start += len;
      }
      expect(r.counters.wideCalls).toBe(1);
    } finally {
      await r.close();
    }
  });
});
