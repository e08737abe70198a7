/**
 * Engine benchmark (`npm run bench`, `--quick` for a smoke run). Measures, in one run on this
 * machine: streaming throughput and latency at several concurrency levels, the plain reference
 * loop as the sequential baseline, a shared-prefix burst with the prefix cache on and off, the
 * dense matmul rate ONNX Runtime reaches here (and the engine's share of it), and memory. The
 * throughput target is judged on rounds that pair the reference loop with a 32-stream burst, so
 * the machine's drift over the run hits both sides of each ratio alike.
 * Prints a table and writes bench/results/engine-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../src/engine/engine-host.js';
import { engineOptionsFromSettings } from '../src/engine/engine-options.js';
import { readModelConfig } from '../src/engine/model-config.js';
import type { ModelInfo } from '../src/engine/types.js';
import { defaultSettings } from '../src/shared/settings.js';
import { fmt, percentile, table } from './bench-util.js';
import {
  flops,
  level,
  memoryChurn,
  pairedThroughput,
  referenceThreads,
  sequentialBaseline,
  sharedPrefix,
  type PrefixVariant,
  type LevelResult,
  type Workload,
} from './engine-scenarios.js';
import { matmulRate } from './matmul-rate.js';
import { coreCheck, describeCores } from './core-check.js';
import { relaunchWithMallocTunables } from '../src/shared/relaunch.js';

// Measure the process the way `orchard serve` runs: with its malloc settings.
const relaunched = relaunchWithMallocTunables();
if (relaunched) process.exit(await relaunched);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
/** `--threads N`, `--replicas N`: the engine settings of the same names (defaults otherwise). */
function intArg(name: string): number | undefined {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} needs a whole number`);
  return n;
}
const modelArg = argv.indexOf('--model');
const MODEL =
  modelArg >= 0
    ? path.resolve(argv[modelArg + 1])
    : path.join(ROOT, 'resources/models/orchard-chat-1');

const P: Workload = quick
  ? {
      levels: [1, 4, 16],
      promptLen: 64,
      outLen: 32,
      seqRuns: 2,
      pairedRounds: 2,
      prefixRequests: 8,
      prefixRounds: 3,
      prefixLen: 256,
      memRequests: 100,
    }
  : {
      levels: [1, 4, 16, 32, 64],
      promptLen: 128,
      outLen: 128,
      // On a shared machine single rounds and pairs range over ±40 % (a single stream's paired
      // ratios 0.45–2.18 within one run), and the median of seven rounds still moved by ~20 %
      // from run to run, the median of 12 single-stream pairs by ~25 % (0.72–1.19).
      seqRuns: 24,
      pairedRounds: 11,
      prefixRequests: 32,
      prefixRounds: 15,
      prefixLen: 512,
      memRequests: 1000,
    };

const log = (s: string) => process.stderr.write(s + '\n');

/** How the engine runs: its replicas and threads (see src/engine/engine-replicas.ts). */
function replicaNote(info: ModelInfo): string {
  const replicas = info.replicas ?? 1;
  const threads = info.threadsPerReplica || 'every core';
  const alone = info.wideThreads ? ` (${info.wideThreads} while alone)` : '';
  return replicas > 1 ? `${replicas} replicas × ${threads} threads${alone}` : `threads ${threads}`;
}

async function main(): Promise<void> {
  const settings = defaultSettings();
  const options = engineOptionsFromSettings({
    ...settings,
    threads: intArg('threads') ?? settings.threads,
    replicas: intArg('replicas') ?? settings.replicas,
  });
  const cfg = await readModelConfig(MODEL);
  log(`model ${MODEL}; ${quick ? 'quick run' : 'full run'}`);
  // Other processes share these cores; the load average says how far to trust the numbers.
  const loadBefore = os.loadavg()[0];

  log('per-core check…');
  const probeMs = quick ? 300 : 1000;
  const coresBefore = await coreCheck(MODEL, probeMs);

  log('matmul rate…');
  const matmul = await matmulRate(options.threads, quick);

  const engine = await loadEngine(MODEL, options);
  const params = engine.info.numParams ?? 0;

  log('sequential reference baseline…');
  const { baseline, engineSingleTpot, referenceTpot } = await sequentialBaseline(
    P,
    MODEL,
    options,
    engine,
  );

  const levels: LevelResult[] = [];
  for (const [i, streams] of P.levels.entries()) {
    log(`${streams} concurrent streams…`);
    levels.push(await level(P, engine, streams, 1000 * (i + 1)));
  }
  // The throughput target's ratio, from rounds that pair the reference loop with a burst.
  const pairedStreams = P.levels.includes(32) ? 32 : P.levels[P.levels.length - 1];
  log(`${pairedStreams} streams vs reference loop, ${P.pairedRounds} paired rounds…`);
  const paired = await pairedThroughput(P, MODEL, options, engine, pairedStreams, P.pairedRounds);
  const stats = engine.stats();
  const bytesPerTokenFormula =
    2 * cfg.numLayers * cfg.numKvHeads * cfg.headDim * (engine.info.kvDtype === 'float16' ? 2 : 4);
  const poolBytes = stats.kv.totalBlocks * stats.kv.blockSize * stats.kv.bytesPerToken;
  const top = levels[levels.length - 1];
  const liveTokensAtPeak = top.streams * (P.promptLen + P.outLen);
  const memory = {
    kvPoolBytes: poolBytes,
    kvPoolBytesPerTokenSlot: poolBytes / (stats.kv.totalBlocks * stats.kv.blockSize),
    formulaBytesPerToken: bytesPerTokenFormula,
    reservedBytesPerLiveTokenAtPeak:
      (top.peakUsedBlocks * stats.kv.blockSize * stats.kv.bytesPerToken) / liveTokensAtPeak,
    denseBytesPerRequestAtFullContext: cfg.contextLength * bytesPerTokenFormula,
    churn: await memoryChurn(P, engine),
  };
  await engine.unload();

  log('shared prefix burst…');
  const prefix = await sharedPrefix(P, MODEL, options, P.prefixRounds);
  log('per-core check…');
  const coresAfter = await coreCheck(MODEL, probeMs);

  const tokensAtTop = top.streams * (P.promptLen + P.outLen);
  const achieved = flops(cfg, params, tokensAtTop, (P.promptLen + P.outLen) / 2) / top.wallS;
  const at32 = levels.find((l) => l.streams === 32) ?? top;
  const singleTpotP50 = percentile(engineSingleTpot, 50);
  const targets = {
    // Median of the paired rounds' ratios (the level table's row and the baseline row were
    // measured minutes apart and are shown as measured).
    throughputAt32VsSequential: {
      ratio: percentile(
        paired.map((r) => r.ratio),
        50,
      ),
      goal: 6,
      streams: pairedStreams,
      rounds: paired,
      unpaired: at32.tokPerS / baseline.tokPerS,
    },
    // Median of the rounds' ratios, each from two bursts run one after the other. The target is
    // judged on the cold burst (the system prompt new to the engine); the warm one is shown too.
    sharedPrefixTtftP50Speedup: prefixTarget(prefix.cold),
    sharedPrefixWarmTtftP50Speedup: prefixTarget(prefix.warm),
    // Median of the per-prompt ratios: each prompt ran on the reference loop, then the engine.
    singleStreamTpotVsReference: {
      ratio: percentile(
        engineSingleTpot.map((t, i) => t / referenceTpot[i]),
        50,
      ),
      goal: 1,
      medians: { engine: singleTpotP50, reference: baseline.tpotP50 },
    },
  };
  const met = {
    throughputAt32VsSequential: targets.throughputAt32VsSequential.ratio >= 6,
    sharedPrefixTtftP50Speedup: targets.sharedPrefixTtftP50Speedup.ratio >= 5,
    sharedPrefixWarmTtftP50Speedup: targets.sharedPrefixWarmTtftP50Speedup.ratio >= 5,
    singleStreamTpotVsReference: targets.singleStreamTpotVsReference.ratio <= 1,
  };

  const rows: Array<Array<string | number>> = [
    [
      `reference loop (sequential, ${referenceThreads(options, engine) || 'every core'} thr.)`,
      baseline.tokPerS,
      baseline.ttftP50,
      baseline.ttftP95,
      baseline.tpotP50,
      baseline.tpotP95,
    ],
    ...levels.map((l) => [
      `engine, ${l.streams} streams`,
      l.tokPerS,
      l.ttftP50,
      l.ttftP95,
      l.tpotP50,
      l.tpotP95,
    ]),
  ];
  const out: string[] = [];
  out.push(
    `Engine benchmark — ${path.basename(MODEL)} (${(params / 1e6).toFixed(2)}M params), ${engine.info.executionProvider}, ` +
      `prompt ${P.promptLen} tokens, ${P.outLen} output tokens, ${replicaNote(engine.info)}${quick ? ' [quick]' : ''}`,
  );
  out.push(
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}); 1-min load average ` +
      `${loadBefore.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end (other processes share the cores)`,
  );
  out.push(describeCores('at start', coresBefore), describeCores('at end', coresAfter));
  out.push('');
  out.push(
    table(
      ['scenario', 'out tok/s', 'TTFT p50 ms', 'TTFT p95 ms', 'TPOT p50 ms', 'TPOT p95 ms'],
      rows,
    ),
  );
  out.push('');
  out.push(
    table(
      [
        `shared prefix bursts (${P.prefixRounds} each)`,
        'TTFT p50 ms',
        'TTFT p95 ms',
        'TTFT mean ms',
        'wall s',
        'prompt tokens computed',
        'prefix hits',
      ],
      (['cold', 'warm'] as const).flatMap((variant) =>
        [prefix[variant].on, prefix[variant].off].map((r) => [
          `${variant}: ${P.prefixRequests} × (${P.prefixLen} + 16) tokens, cache ${r.prefixCaching ? 'on' : 'off'}`,
          r.ttftP50,
          r.ttftP95,
          r.ttftMean,
          r.wallS,
          r.promptTokensComputed,
          r.prefixHitTokens,
        ]),
      ),
    ),
  );
  out.push(
    'cold: the system prompt is new to the engine (the burst computes it once); ' +
      'warm: one earlier request saw it first (not timed)',
  );
  out.push('');
  out.push(
    `ONNX Runtime dense matmul: ${fmt(matmul.bestGflops)} GFLOP/s best (${matmul.bestShape}); ` +
      `engine at ${top.streams} streams: ${fmt(achieved / 1e9)} GFLOP/s = ${fmt((100 * achieved) / 1e9 / matmul.bestGflops)}% of it`,
  );
  out.push(
    `KV pool: ${fmt(memory.kvPoolBytesPerTokenSlot)} B per token slot (formula 2·layers·kv_heads·head_dim·dtype = ` +
      `${memory.formulaBytesPerToken}); reserved per live token at ${top.streams}-stream peak: ` +
      `${fmt(memory.reservedBytesPerLiveTokenAtPeak)} B; pool ${fmt(poolBytes / 2 ** 20)} MiB`,
  );
  out.push(
    `RSS: ${fmt(memory.churn.rssBeforeMb)} MiB before ${memory.churn.requests} short requests, ` +
      `${fmt(memory.churn.rssAfterMb)} MiB after, ${fmt(memory.churn.rssAfterGcMb)} MiB after GC`,
  );
  out.push('');
  out.push(
    table(
      ['target', 'measured', 'goal', 'met'],
      [
        [
          `throughput at ${pairedStreams} streams vs sequential (median of ${paired.length} paired rounds)`,
          `${fmt(targets.throughputAt32VsSequential.ratio)}× (${paired.map((r) => fmt(r.ratio)).join(', ')})`,
          '≥ 6×',
          met.throughputAt32VsSequential ? 'yes' : 'NO',
        ],
        ...(['cold', 'warm'] as const).map((variant) => {
          const t =
            variant === 'cold'
              ? targets.sharedPrefixTtftP50Speedup
              : targets.sharedPrefixWarmTtftP50Speedup;
          return [
            `shared-prefix TTFT p50, cache off / on, ${variant} (median of ${t.rounds.length} paired rounds)`,
            `${fmt(t.ratio)}× (${t.rounds.map((r) => fmt(r.ratio)).join(', ')})`,
            '≥ 5×',
            (
              variant === 'cold'
                ? met.sharedPrefixTtftP50Speedup
                : met.sharedPrefixWarmTtftP50Speedup
            )
              ? 'yes'
              : 'NO',
          ];
        }),
        [
          `single-stream TPOT vs reference loop (median of ${engineSingleTpot.length} paired prompts)`,
          `${fmt(targets.singleStreamTpotVsReference.ratio)}× (${fmt(singleTpotP50)} vs ${fmt(baseline.tpotP50)} ms)`,
          '≤ 1×',
          met.singleStreamTpotVsReference ? 'yes' : 'NO',
        ],
      ],
    ),
  );
  console.log(out.join('\n'));

  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        quick,
        loadAverage: { start: loadBefore, end: os.loadavg()[0] },
        cores: { start: coresBefore, end: coresAfter },
        model: MODEL,
        params,
        executionProvider: engine.info.executionProvider,
        options,
        workload: P,
        baseline,
        engineSingleTpot,
        referenceTpot,
        levels,
        sharedPrefix: prefix,
        matmul,
        achievedFlopsAtTop: achieved,
        memory,
        targets,
        met,
        table: out.join('\n'),
      },
      null,
      2,
    ),
  );
  log(`wrote ${path.relative(ROOT, file)}`);
}

function prefixTarget(v: PrefixVariant) {
  return {
    ratio: percentile(
      v.rounds.map((r) => r.ratio),
      50,
    ),
    goal: 5,
    rounds: v.rounds,
    pooled: v.off.ttftP50 / v.on.ttftP50,
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
