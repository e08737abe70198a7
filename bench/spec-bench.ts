/**
 * Speculative decoding benchmark (`npm run bench:spec`; `--quick` for a smoke run, `--sweep` to
 * also measure where speculation stops paying as streams are added). In one run, greedy
 * decoding tokens/s of orchard-chat-1 without speculation, with the draft model (orchard-draft:
 * as shipped, taking free prompt-lookup proposals when they promise more; the draft model alone,
 * drafting when its acceptance rate pays; the draft model drafting always) and with prompt
 * lookup, at 1, 8 and 32 concurrent streams. The variants take turns round after round, in a
 * rotating order, and each is compared with plain decoding on its own engine in the same round,
 * so a busy machine slows them alike. Greedy output is the same in every variant (checked).
 * Prints a table and writes bench/results/spec-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../src/engine/engine-host.js';
import type { LocalEngine } from '../src/engine/engine-replicas.js';
import { engineOptionsFromSettings } from '../src/engine/engine-options.js';
import type { EngineOptions, EngineStats, ModelTokenizer } from '../src/engine/types.js';
import { samplingParams, type SpeculativeMode } from '../src/shared/sampling.js';
import { defaultSettings } from '../src/shared/settings.js';
import { fmt, percentile, table } from './bench-util.js';
import { relaunchWithMallocTunables } from '../src/shared/relaunch.js';

// Measure the process the way `orchard serve` runs: with its malloc settings.
const relaunched = relaunchWithMallocTunables();
if (relaunched) process.exit(await relaunched);

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
  ? {
      levels: [1, 8, 32],
      rounds: [3, 1, 1],
      singlePrompts: 2,
      outLen: 48,
      sweepLevels: [1, 4, 8, 16],
    }
  : {
      levels: [1, 8, 32],
      rounds: [9, 9, 5],
      singlePrompts: 4,
      outLen: 128,
      sweepLevels: [1, 2, 4, 8, 12, 16, 24, 32],
    };

type EngineName = 'main' | 'draftOnly' | 'draftAlways';

interface Variant {
  name: string;
  mode: SpeculativeMode;
  engine: EngineName;
  /**
   * Measured only as the baseline of its engine's other variants: two engine workers can
   * differ by tens of percent on a shared machine, so each is compared with itself.
   */
  baselineOnly?: boolean;
}

const VARIANTS: Variant[] = [
  { name: 'off', mode: 'off', engine: 'main' },
  { name: 'draft', mode: 'draft', engine: 'main' },
  { name: 'lookup', mode: 'lookup', engine: 'main' },
  { name: 'off', mode: 'off', engine: 'draftOnly', baselineOnly: true },
  { name: 'draft model only', mode: 'draft', engine: 'draftOnly' },
  { name: 'off', mode: 'off', engine: 'draftAlways', baselineOnly: true },
  { name: 'draft model, always', mode: 'draft', engine: 'draftAlways' },
];

/** Engine options per engine: as shipped; without lookup proposals; drafting even at a loss. */
const ENGINES: Record<EngineName, Partial<EngineOptions>> = {
  main: {},
  draftOnly: { speculativeDraftUsesLookup: false },
  draftAlways: {
    speculativeDraftUsesLookup: false,
    speculativeDraftCost: { perStep: 0, perDraft: 0 },
  },
};

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
  engine: LocalEngine,
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

/** `streams` prompts at once (or `singlePrompts` one after another for a single stream). */
async function runOnce(
  engine: LocalEngine,
  variant: Variant,
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
      throw new Error(`${variant.name}: greedy output differs for prompt ${seed}`);
  };
  const one = async (seed: number) =>
    record(seed, await stream(engine, chatPrompt(engine.tokenizer, seed), variant.mode));
  if (streams === 1) {
    for (let i = 0; i < P.singlePrompts; i++) await one(seedBase + i);
  } else {
    await Promise.all(Array.from({ length: streams }, (_, i) => one(seedBase + i)));
  }
  const wallS = (now() - t0) / 1000;
  const after = (await engine.refreshStats()).speculative;
  return { tokens, wallS, ...specDelta(before, after) };
}

interface LevelResult {
  streams: number;
  variant: string;
  engine: EngineName;
  /** Another engine's own 'off', the baseline of its variants (not printed). */
  baselineOnly: boolean;
  /** All rounds' tokens over all rounds' time. */
  tokPerS: number;
  /** Median over rounds of this variant's tok/s over 'off' tok/s in the same round. */
  speedup: number;
  /** Each round's tok/s. */
  roundTokPerS: number[];
  acceptanceRate: number;
  meanAcceptedLength: number;
  tokens: number;
  wallS: number;
}

async function measure(
  engines: Record<EngineName, LocalEngine>,
  streams: number,
  rounds: number,
  seedBase: number,
): Promise<LevelResult[]> {
  const outputs = new Map<number, number[]>();
  const sums = VARIANTS.map((): Run => ({
    tokens: 0,
    wallS: 0,
    proposed: 0,
    accepted: 0,
    verifications: 0,
  }));
  const rates = VARIANTS.map((): number[] => []);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no variant always runs first (or after the same one).
    for (let j = 0; j < VARIANTS.length; j++) {
      const i = (j + r) % VARIANTS.length;
      const v = VARIANTS[i];
      const run = await runOnce(engines[v.engine], v, streams, seedBase + 100 * r, outputs);
      for (const k of Object.keys(run) as (keyof Run)[]) sums[i][k] += run[k];
      rates[i].push(run.tokens / run.wallS);
    }
  }
  return VARIANTS.map((v, i) => {
    const s = sums[i];
    const tokPerS = s.tokens / s.wallS;
    // Per-round ratios cancel the slow swings of a shared machine's load.
    const base = VARIANTS.findIndex((b) => b.engine === v.engine && b.mode === 'off');
    const ratios = rates[i].map((rate, r) => rate / rates[base][r]);
    return {
      streams,
      variant: v.name,
      engine: v.engine,
      baselineOnly: v.baselineOnly ?? false,
      tokPerS,
      speedup: percentile(ratios, 50),
      roundTokPerS: rates[i],
      acceptanceRate: s.proposed === 0 ? 0 : s.accepted / s.proposed,
      meanAcceptedLength:
        s.verifications === 0 ? 0 : (s.verifications + s.accepted) / s.verifications,
      tokens: s.tokens,
      wallS: s.wallS,
    };
  });
}

async function loadAll(options: EngineOptions): Promise<Record<EngineName, LocalEngine>> {
  const engines = {} as Record<EngineName, LocalEngine>;
  for (const [name, extra] of Object.entries(ENGINES) as [EngineName, Partial<EngineOptions>][])
    engines[name] = await loadEngine(MODEL, { ...options, ...extra });
  for (const v of VARIANTS)
    await stream(engines[v.engine], chatPrompt(engines.main.tokenizer, 424242), v.mode);
  return engines;
}

async function main(): Promise<void> {
  const options: EngineOptions = {
    ...engineOptionsFromSettings(defaultSettings()),
    // Plenty for 32 streams here; two engines are loaded at once.
    kvCacheBytes: 64 * 1024 * 1024,
    draftModelDir: DRAFT,
    speculative: 'off',
  };
  log(`model ${MODEL}, draft ${DRAFT}; ${quick ? 'quick run' : 'full run'}`);
  let engines = await loadAll(options);
  const results: LevelResult[] = [];
  for (const [i, streams] of P.levels.entries()) {
    log(`${streams} stream(s)…`);
    results.push(...(await measure(engines, streams, P.rounds[i], 10_000 * (i + 1))));
  }
  await Promise.all(Object.values(engines).map((e) => e.unload()));

  // Speculation forced on at every batch size: where does it stop paying?
  const sweepResults: LevelResult[] = [];
  if (sweep) {
    engines = await loadAll({ ...options, speculativeMaxRunning: 1_000_000 });
    for (const [i, streams] of P.sweepLevels.entries()) {
      log(`sweep: ${streams} stream(s), speculation always on…`);
      sweepResults.push(...(await measure(engines, streams, 3, 500_000 + 1000 * i)));
    }
    await Promise.all(Object.values(engines).map((e) => e.unload()));
  }

  const rows = (rs: LevelResult[]) =>
    rs
      .filter((r) => !r.baselineOnly)
      .map((r) => [
        String(r.streams),
        r.variant,
        r.tokPerS,
        `${fmt(r.speedup)}x`,
        r.variant === 'off' ? '-' : `${(100 * r.acceptanceRate).toFixed(0)}%`,
        r.variant === 'off' ? '-' : r.meanAcceptedLength,
      ]);
  // 'vs off': median over rounds of tok/s over the same engine's tok/s without speculation.
  const headers = ['streams', 'speculation', 'tok/s', 'vs off', 'accepted', 'tokens/verify'];
  console.log(`\nSpeculative decoding, greedy, ${P.outLen} tokens per stream (${MODEL})`);
  console.log(table(headers, rows(results)));
  if (sweep) {
    console.log('\nSpeculation forced on at every batch size:');
    console.log(table(headers, rows(sweepResults)));
  }

  const date = new Date().toISOString();
  const file = path.join(ROOT, 'bench/results', `spec-${date.replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  const json = {
    date,
    quick,
    model: MODEL,
    draft: DRAFT,
    options,
    workload: P,
    results,
    sweep: sweepResults,
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  log(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
