/**
 * Opens a model's ONNX graph with the chosen execution provider and checks that the runner can
 * drive it. Shared by the engine worker, the reference loop and the benchmark.
 */
import { open, readFile } from 'node:fs/promises';
import os from 'node:os';
import ort from 'onnxruntime-node';
import {
  createSessionWithProvider,
  gpuDevicePresent,
  sessionProviders,
} from './execution-provider.js';
import type { ConcreteProvider } from './execution-provider.js';
import { parseGraphSignature, readModelConfig } from './model-config.js';
import { graphOutputNames, pruneOutputs } from './onnx-prune.js';
import type { GraphSignature, ModelConfig } from './model-config.js';
import type { ExecutionProviderName } from './types.js';

export interface ModelSession {
  config: ModelConfig;
  signature: GraphSignature;
  session: ort.InferenceSession;
  /**
   * The same graph with `wideThreads` intra-op threads, when asked for and on the CPU: what a
   * replica runs while no other has work (replica-activity.ts).
   */
  wideSession: ort.InferenceSession | null;
  provider: ConcreteProvider;
  providerReason: string;
}

/**
 * Intra-op threads for the threads setting: 0 means every core, set explicitly. Left unset,
 * onnxruntime-node ran one thread on this 2-core machine (a 512-token prefill: one core busy,
 * 42–46 ms, against 34 ms and 1.6 cores with 2 set), so "every core" has to be asked for.
 */
export function intraOpThreads(threads: number, cores = os.availableParallelism()): number {
  return threads > 0 ? threads : Math.max(1, cores);
}

export function sessionOptions(
  provider: ConcreteProvider,
  threads: number,
  /** Pool threads spin between parallel sections rather than sleep (the wide session). */
  spinning = false,
): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: sessionProviders(provider),
    graphOptimizationLevel: 'all',
    // One step is one graph run; parallelism comes from intra-op threads.
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: intraOpThreads(threads),
    // Spinning pool threads steal the core the worker needs for KV copies and sampling between
    // runs, and fight other processes on a shared desktop; measured faster without on 2 cores.
    // A replica's wide session spins: it runs only while no other replica has work, and a
    // sleeping pool thread cost more to wake than it saved (see WIDE_MIN_TOKENS). But only
    // within a run: left alone, its pool thread went on spinning for ~25 ms of CPU after each
    // run, just when a burst behind a new system prompt has both replicas start their own steps
    // on one thread each after the wide prefix run. Stopped after the run, that burst's time to
    // first token fell from a median p50 of 68–69 ms to 55–59 ms (mean 76–79 to 58–61 ms; three
    // runs of 16 alternating bursts, two engines in one process). A 900-token prompt alone,
    // two wide runs in a row, lost ~4 % (each run now wakes the pool).
    extra: {
      session: {
        intra_op: { allow_spinning: spinning ? '1' : '0' },
        ...(spinning ? { force_spinning_stop: '1' } : {}),
      },
    },
  };
}

export interface OpenModelOptions {
  executionProvider: ExecutionProviderName;
  threads: number;
  /**
   * The caller keeps its own KV cache from `new_key_values` (the engine's runner): when the
   * graph has those outputs, its `present` outputs and the nodes that only fed them are pruned,
   * since ONNX Runtime computes every output whether fetched or not.
   */
  ownKvCache?: boolean;
  /** Also open a session with this many threads (more than `threads`), on the CPU only. */
  wideThreads?: number;
}

/** Where a graph's outputs are listed: near its end (after the initializers). */
const TAIL_BYTES = 4 * 1024 * 1024;

/**
 * The graph to open: the file itself, or for a caller with its own KV cache the file's bytes
 * with `present` pruned (when it also has `new_key_values` and can be pruned safely). Only the
 * file's tail is read to find out, so a graph without `new_key_values` (any Hugging Face
 * export) costs no extra read.
 */
async function graphSource(onnxPath: string, ownKvCache: boolean): Promise<string | Uint8Array> {
  if (!ownKvCache) return onnxPath;
  const file = await open(onnxPath, 'r');
  try {
    const { size } = await file.stat();
    const tail = Buffer.alloc(Math.min(size, TAIL_BYTES));
    await file.read(tail, 0, tail.length, size - tail.length);
    if (!tail.includes('new_key_values.')) return onnxPath;
  } finally {
    await file.close();
  }
  const bytes = new Uint8Array(await readFile(onnxPath));
  const outputs = graphOutputNames(bytes) ?? [];
  if (!outputs.some((o) => o.startsWith('new_key_values.'))) return onnxPath;
  const present = outputs.filter((o) => /^present/.test(o));
  return pruneOutputs(bytes, new Set(present))?.bytes ?? onnxPath;
}

export async function openModelSession(
  modelDir: string,
  options: OpenModelOptions,
): Promise<ModelSession> {
  const config = await readModelConfig(modelDir);
  const source = await graphSource(config.onnxPath, options.ownKvCache ?? false);
  // (Two overloads, path or bytes: a union argument matches neither.)
  const create = (o: ort.InferenceSession.SessionOptions) =>
    typeof source === 'string'
      ? ort.InferenceSession.create(source, o)
      : ort.InferenceSession.create(source, o);
  const selection = await createSessionWithProvider(options.executionProvider, {
    backends: ort.listSupportedBackends(),
    platform: process.platform,
    hasGpuDevice: gpuDevicePresent(process.platform),
    createSession: (provider) => create(sessionOptions(provider, options.threads)),
  });
  const session = selection.session;
  let wideSession: ort.InferenceSession | null = null;
  try {
    const signature = parseGraphSignature(session.inputMetadata, session.outputMetadata, config);
    const wide = options.wideThreads ?? 0;
    if (selection.provider === 'cpu' && wide > intraOpThreads(options.threads)) {
      wideSession = await create(sessionOptions('cpu', wide, true));
    }
    return {
      config,
      signature,
      session,
      wideSession,
      provider: selection.provider,
      providerReason: selection.reason,
    };
  } catch (err) {
    await session.release();
    await wideSession?.release();
    throw new Error(`${config.onnxPath}: ${(err as Error).message}`);
  }
}
