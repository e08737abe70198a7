/**
 * Runner benchmark (`npm run bench:runner`): the engine core's decode rate with the two ways the
 * runner keeps a decode batch's past, in one process and interleaved round by round so the
 * machine's drift hits both alike:
 * - in place: the graph's `new_key_values` outputs are appended to a dense past buffer;
 * - present: the graph's whole `present` is fetched each step and becomes the next past (the
 *   path for graphs without `new_key_values`).
 * Decode only: each round admits the requests, finishes their prefill, then times the rest.
 * Prints a table and writes bench/results/runner-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EngineCore } from '../src/engine/engine-core.js';
import { OnnxRunner } from '../src/engine/onnx-runner.js';
import { openModelSession } from '../src/engine/onnx-session.js';
import { samplingParams } from '../src/shared/sampling.js';
import { relaunchWithMallocTunables } from '../src/shared/relaunch.js';
import { percentile, table } from './bench-util.js';

// Measure the process the way `orchard serve` runs: with its malloc settings.
const relaunched = relaunchWithMallocTunables();
if (relaunched) process.exit(await relaunched);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'resources/models/orchard-chat-1');
const quick = process.argv.includes('--quick');
const LEVELS = quick ? [1, 8] : [1, 8, 32, 64];
const ROUNDS = quick ? 3 : 7;
const PROMPT = 128;
const OUT = quick ? 32 : 96;
const VARIANTS = ['in place', 'present'] as const;
type Variant = (typeof VARIANTS)[number];

async function core(variant: Variant): Promise<EngineCore> {
  // In place opens the graph as the engine does (present pruned); 'present' needs it whole.
  const model = await openModelSession(MODEL, {
    executionProvider: 'cpu',
    threads: 0,
    ownKvCache: variant === 'in place',
  });
  if (model.signature.newKv === null) throw new Error(`${MODEL} has no new_key_values outputs`);
  const signature = variant === 'present' ? { ...model.signature, newKv: null } : model.signature;
  const runner = new OnnxRunner(model.session, model.config, signature, {
    kvCacheBytes: 256 * 1024 * 1024,
    blockSize: 16,
  });
  return new EngineCore(runner, {
    numBlocks: runner.numBlocks,
    blockSize: 16,
    maxRunning: 64,
    maxWaiting: 256,
    maxBatchTokens: 512,
    enablePrefixCaching: false,
    maxModelLen: model.config.contextLength,
    eosTokenIds: model.config.eosTokenIds,
  });
}

let nextId = 0;
/** Output tokens per second of decode steps for `streams` greedy requests. */
async function decodeRate(c: EngineCore, streams: number, round: number): Promise<number> {
  for (let i = 0; i < streams; i++) {
    const prompt = Array.from(
      { length: PROMPT },
      (_, j) => 6 + ((i * 131 + j * 17 + round * 7) % 4000),
    );
    c.addRequest({
      id: `r${nextId++}`,
      promptTokenIds: prompt,
      params: samplingParams({ temperature: 0, maxTokens: OUT, ignoreEos: true }),
    });
  }
  while (c.scheduler.waiting.length > 0) await c.step();
  await c.step(); // the last prefill chunk
  const before = c.stats().counters.generationTokens;
  const t0 = performance.now();
  while (c.hasWork()) await c.step();
  return ((c.stats().counters.generationTokens - before) / (performance.now() - t0)) * 1000;
}

async function main(): Promise<void> {
  const cores = Object.fromEntries(
    await Promise.all(VARIANTS.map(async (v) => [v, await core(v)] as const)),
  ) as Record<Variant, EngineCore>;
  const results: Array<{ streams: number; variant: Variant; median: number; rounds: number[] }> =
    [];
  for (const streams of LEVELS) {
    const rounds: Record<Variant, number[]> = { 'in place': [], present: [] };
    await decodeRate(cores['in place'], streams, 99); // warm-up: arena growth for these shapes
    await decodeRate(cores.present, streams, 99);
    for (let r = 0; r < ROUNDS; r++) {
      for (const v of VARIANTS) rounds[v].push(await decodeRate(cores[v], streams, r));
    }
    for (const v of VARIANTS) {
      results.push({ streams, variant: v, median: percentile(rounds[v], 50), rounds: rounds[v] });
    }
  }
  const rows = LEVELS.map((streams) => {
    const get = (v: Variant) => results.find((x) => x.streams === streams && x.variant === v)!;
    const inPlace = get('in place').median;
    const present = get('present').median;
    return [String(streams), inPlace, present, `${(inPlace / present).toFixed(2)}×`];
  });
  console.log(
    `Runner benchmark — decode tok/s (median of ${ROUNDS} interleaved rounds), prompt ${PROMPT}, ${OUT} output tokens`,
  );
  console.log(table(['streams', 'in place', 'present', 'in place / present'], rows));
  const date = new Date().toISOString();
  const file = path.join(ROOT, 'bench/results', `runner-${date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({ date, quick, model: MODEL, prompt: PROMPT, out: OUT, results }, null, 2) +
      '\n',
  );
  console.log(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
