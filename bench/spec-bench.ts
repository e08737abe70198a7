/**
 * Speculative decoding benchmark (`npm run bench:spec`; `--quick` for a smoke run, `--sweep` to
 * also measure where speculation stops paying as streams are added). In one run, on one engine
 * (orchard-chat-1 with orchard-draft loaded), greedy decoding tokens/s without speculation,
 * with the draft model and with prompt lookup, at 1, 8 and 32 concurrent streams. The modes
 * take turns round after round, so a busy machine slows them alike. Greedy outputs are
 * identical in every mode, so every mode generates the same tokens.
 * Prints a table and writes bench/results/spec-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine, type EngineHost } from '../src/engine/engine-host.js';
import { engineOptionsFromSettings } from '../src/engine/engine-options.js';
import type { EngineOptions, EngineStats, ModelTokenizer } from '../src/engine/types.js';
import { samplingParams, type SpeculativeMode } from '../src/shared/sampling.js';
import { defaultSettings } from '../src/shared/settings.js';
import { fmt, table } from './bench-util.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const sweep = argv.includes('--sweep');
const arg = (name: string, fallback: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const MODEL = path.resolve(arg('--model', path.join(ROOT, 'resources/models/orchard-chat-1')));
const DRAFT = path.resolve(arg('--draft', path.join(ROOT, 'resources/models/orchard-draft')));

const P = quick
  ? { levels: [1, 8, 32], rounds: [2, 1, 1], singlePrompts: 2, outLen: 48, sweepLevels: [1, 4, 8] }
  : {
      levels: [1, 8, 32],
      rounds: [4, 2, 2],
      singlePrompts: 4,
      outLen: 128,
      sweepLevels: [1, 2, 4, 6, 8, 12, 16, 24],
    };
const MODES: SpeculativeMode[] = ['off', 'draft', 'lookup'];

const now = () => performance.now();
const log = (s: string) => process.stderr.write(s + '\n');

const TOPICS = (
  'apples pears plums cherries orchards rivers harvests ladders baskets cider jam honey bees ' +
  'frost blossoms pruning grafting seeds roots soil rain autumn markets farmers trees'
).split(' ');

/** A chat prompt asking about a few seeded topics. */
function chatPrompt(tok: ModelTokenizer, seed: number): number[] {
  let x = (seed + 1) * 2654435761;
  const pick = () => TOPICS[(x = (x * 1103515245 + 12345) % 2147483648) % TOPICS.length];
  const content = `Tell me about ${pick()}, ${pick()} and ${pick()}. What should I know about ${pick()}?`;
  const text = tok.applyChatTemplate([{ role: 'user', content }], { addGenerationPrompt: true });
  return tok.encode(text, { addSpecialTokens: false });
}

interface Run {
  tokens: number;
  wallS: number;
  proposed: number;
  accepted: number;
  verifications: number;
}

async function stream(
  engine: EngineHost,
  prompt: number[],
  mode: SpeculativeMode,
): Promise<number[]> {
  const params = samplingParams({
    temperature: 0,
    maxTokens: P.outLen,
    ignoreEos: true,
    speculative: mode,
  });
  const out: number[] = [];
  for await (const o of engine.generate({ promptTokenIds: prompt, params })) {
    for (const c of o.choices) out.push(...c.tokenIds);
  }
  return out;
}

function specDelta(a: EngineStats['speculative'], b: EngineStats['speculative']) {
  return {
    proposed: b.proposed - a.proposed,
    accepted: b.accepted - a.accepted,
    verifications: b.verifications - a.verifications,
  };
}

/** `streams` prompts at once (or `prompts` one after another for a single stream). */
async function runOnce(
  engine: EngineHost,
  mode: SpeculativeMode,
  streams: number,
  seedBase: number,
  outputs: Map<number, number[]>,
): Promise<Run> {
  const before = (await engine.refreshStats()).speculative;
  const t0 = now();
  let tokens = 0;
  const record = (seed: number, out: number[]) => {
    tokens += out.length;
    const seen = outputs.get(seed);
    if (seen === undefined) outputs.set(seed, out);
    else if (seen.join() !== out.join())
      throw new Error(`mode ${mode}: greedy output differs for prompt ${seed}`);
  };
  if (streams === 1) {
    for (let i = 0; i < P.singlePrompts; i++) {
      const seed = seedBase + i;
      record(seed, await stream(engine, chatPrompt(engine.tokenizer, seed), mode));
    }
  } else {
    await Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const seed = seedBase + i;
        record(seed, await stream(engine, chatPrompt(engine.tokenizer, seed), mode));
      }),
    );
  }
  const wallS = (now() - t0) / 1000;
  const after = (await engine.refreshStats()).speculative;
  return { tokens, wallS, ...specDelta(before, after) };
}

interface LevelResult {
  streams: number;
  mode: SpeculativeMode;
  tokPerS: number;
  speedup: number;
  acceptanceRate: number;
  meanAcceptedLength: number;
  tokens: number;
  wallS: number;
}

async function measure(
  engine: EngineHost,
  streams: number,
  rounds: number,
  seedBase: number,
): Promise<LevelResult[]> {
  const outputs = new Map<number, number[]>();
  const sums = new Map<SpeculativeMode, Run>(
    MODES.map((m) => [m, { tokens: 0, wallS: 0, proposed: 0, accepted: 0, verifications: 0 }]),
  );
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no mode always runs first (or right after another).
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]);
    for (const mode of order) {
      const run = await runOnce(engine, mode, streams, seedBase + 100 * r, outputs);
      const s = sums.get(mode)!;
      for (const k of Object.keys(s) as (keyof Run)[]) s[k] += run[k];
    }
  }
  const offRate = sums.get('off')!.tokens / sums.get('off')!.wallS;
  return MODES.map((mode) => {
    const s = sums.get(mode)!;
    const tokPerS = s.tokens / s.wallS;
    return {
      streams,
      mode,
      tokPerS,
      speedup: tokPerS / offRate,
      acceptanceRate: s.proposed === 0 ? 0 : s.accepted / s.proposed,
      meanAcceptedLength:
        s.verifications === 0 ? 0 : (s.verifications + s.accepted) / s.verifications,
      tokens: s.tokens,
      wallS: s.wallS,
    };
  });
}

async function main(): Promise<void> {
  const options: EngineOptions = {
    ...engineOptionsFromSettings(defaultSettings()),
    draftModelDir: DRAFT,
    speculative: 'off',
  };
  log(`model ${MODEL}, draft ${DRAFT}; ${quick ? 'quick run' : 'full run'}`);
  const engine = await loadEngine(MODEL, options);
  for (const mode of MODES) await stream(engine, chatPrompt(engine.tokenizer, 424242), mode); // warm-up

  const results: LevelResult[] = [];
  for (const [i, streams] of P.levels.entries()) {
    log(`${streams} stream(s)…`);
    results.push(...(await measure(engine, streams, P.rounds[i], 10_000 * (i + 1))));
  }
  const config = {
    maxRunning: options.speculativeMaxRunning ?? 8,
    maxDrafts: options.speculativeMaxDrafts ?? 8,
  };
  await engine.unload();

  // Speculation forced on at every batch size: where does it stop paying?
  const sweepResults: LevelResult[] = [];
  if (sweep) {
    const forced = await loadEngine(MODEL, { ...options, speculativeMaxRunning: 1_000_000 });
    for (const mode of MODES) await stream(forced, chatPrompt(forced.tokenizer, 424242), mode);
    for (const [i, streams] of P.sweepLevels.entries()) {
      log(`sweep: ${streams} stream(s), speculation always on…`);
      sweepResults.push(
        ...(await measure(forced, streams, streams === 1 ? 2 : 1, 500_000 + 1000 * i)),
      );
    }
    await forced.unload();
  }

  const rows = (rs: LevelResult[]) =>
    rs.map((r) => [
      String(r.streams),
      r.mode,
      r.tokPerS,
      `${fmt(r.speedup)}x`,
      r.mode === 'off' ? '-' : `${(100 * r.acceptanceRate).toFixed(0)}%`,
      r.mode === 'off' ? '-' : r.meanAcceptedLength,
    ]);
  const headers = ['streams', 'speculation', 'tok/s', 'vs off', 'accepted', 'tokens/verify'];
  console.log(`\nSpeculative decoding, greedy, ${P.outLen} tokens per stream (${MODEL})`);
  console.log(table(headers, rows(results)));
  if (sweep) {
    console.log('\nSweep with speculation forced on at every batch size:');
    console.log(table(headers, rows(sweepResults)));
  }

  const date = new Date().toISOString();
  const file = path.join(ROOT, 'bench/results', `spec-${date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify(
      {
        date,
        quick,
        model: MODEL,
        draft: DRAFT,
        options,
        speculative: config,
        workload: P,
        results,
        sweep: sweepResults,
      },
      null,
      2,
    ) + '\n',
  );
  log(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
