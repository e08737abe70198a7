/**
 * The service side of an engine: spawns the worker thread, tokenizes nothing itself (the
 * service hands it token ids) but turns the worker's token outputs into text — UTF-8-safe
 * detokenization, stop strings, logprob token strings and bytes — and maps worker errors to
 * the typed errors of src/shared/errors.ts.
 */
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  BusyError,
  ContextLengthExceededError,
  InvalidRequestError,
  NotReadyError,
} from '../shared/errors.js';
import { transferables } from '../shared/engine-protocol.js';
import type { HostMessage, WorkerError, WorkerMessage } from '../shared/engine-protocol.js';
import { ChoiceText } from './choice-text.js';
import type { TokenText } from './choice-text.js';
import type { CoreOutput, CoreRequest } from './core-types.js';
import {
  ReplicatedEngine,
  planReplicas,
  type LocalEngine,
  type ImportedPrefix,
  type PrefixBlocks,
  type ReplicaEngine,
} from './engine-replicas.js';
import { gpuDevicePresent, planProviders } from './execution-provider.js';
import { readModelConfig } from './model-config.js';
import { loadModelTokenizer } from './model-tokenizer.js';
import { replicaSlots, type ReplicaSlot } from './replica-activity.js';
import type { HfModelTokenizer } from './model-tokenizer.js';
import type {
  ChoiceDelta,
  EngineOptions,
  EngineStats,
  GenerateOutput,
  GenerateRequest,
  LoadProgress,
  ModelInfo,
} from './types.js';

type PrefixReply = Extract<WorkerMessage, { type: 'prefix-exported' | 'prefix-imported' }>;

const NO_BLOCKS: PrefixBlocks = { blocks: 0, data: new Float32Array(0) };

function toError(e: WorkerError): Error {
  switch (e.kind) {
    case 'busy':
      return new BusyError(e.message);
    case 'context_length':
      return new ContextLengthExceededError(e.message, e.param ?? 'messages');
    case 'invalid_request':
      return new InvalidRequestError(e.message, e.param ?? null);
    default:
      return new Error(e.message);
  }
}

/**
 * In development and tests the worker is TypeScript: a small .mjs entry registers tsx's hooks in
 * the worker thread (Node 20 does not carry `--import tsx` into workers) and imports it. Built
 * code (dist/) spawns the compiled .js directly.
 */
function spawnWorker(): Worker {
  const isTs = fileURLToPath(import.meta.url).endsWith('.ts');
  if (!isTs) return new Worker(new URL('./engine-worker.js', import.meta.url));
  // tsx's own flags are dropped: the dev entry registers tsx itself.
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i];
    const next = process.execArgv[i + 1] ?? '';
    if ((arg === '--import' || arg === '--require' || arg === '--loader') && next.includes('tsx')) {
      i++;
      continue;
    }
    execArgv.push(arg);
  }
  return new Worker(new URL('./engine-worker-dev.mjs', import.meta.url), {
    execArgv,
    workerData: { orchardWorkerEntry: new URL('./engine-worker.ts', import.meta.url).href },
  });
}

type ChannelEvent =
  | { kind: 'accepted' }
  | { kind: 'output'; output: CoreOutput }
  | { kind: 'admitted'; queueMs: number }
  | { kind: 'error'; error: Error }
  /** The engine is unloading: end the stream as aborted. */
  | { kind: 'closed' };

/** One request's events, in arrival order, for its generate() iterator. */
class Channel {
  private readonly events: ChannelEvent[] = [];
  private wake: (() => void) | null = null;

  push(e: ChannelEvent): void {
    this.events.push(e);
    this.wake?.();
    this.wake = null;
  }

  async next(): Promise<ChannelEvent> {
    while (this.events.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
    return this.events.shift()!;
  }
}

export class EngineHost implements ReplicaEngine {
  private readonly channels = new Map<string, Channel>();
  private readonly statsWaiters = new Map<number, (s: EngineStats) => void>();
  private readonly prefixWaiters = new Map<number, (m: PrefixReply | null) => void>();
  private readonly tokenText: TokenText;
  private latest: EngineStats;
  private failure: Error | null = null;
  private unloaded: Promise<void> | null = null;
  private nextId = 0;

  constructor(
    private readonly worker: Worker,
    readonly info: ModelInfo,
    readonly tokenizer: HfModelTokenizer,
    stats: EngineStats,
  ) {
    this.latest = stats;
    const eos = new Set(info.eosTokenIds);
    this.tokenText = {
      tokenBytes: (id) => tokenizer.tokenBytes(id),
      isHidden: (id) => eos.has(id) || tokenizer.isSpecial(id),
    };
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.unloaded) this.fail(new Error(`the engine worker exited (code ${code})`));
    });
  }

  private outbox: CoreRequest[] = [];
  /** Messages about requests still in the outbox: sent right after it, never before. */
  private outboxAfter: HostMessage[] = [];

  private send(message: HostMessage): void {
    this.worker.postMessage(message, transferables(message));
  }

  /** Queues a request; everything queued in this tick is posted as one message. */
  private submit(request: CoreRequest): void {
    this.outbox.push(request);
    if (this.outbox.length > 1) return;
    queueMicrotask(() => {
      const requests = this.outbox;
      const after = this.outboxAfter;
      this.outbox = [];
      this.outboxAfter = [];
      this.send({ type: 'generate', requests });
      for (const message of after) this.send(message);
    });
  }

  /** An abort or a choice's end never overtakes the request it is about. */
  private sendAfterOutbox(message: HostMessage): void {
    if (this.outbox.length > 0) this.outboxAfter.push(message);
    else this.send(message);
  }

  private abortRequest(requestId: string): void {
    this.sendAfterOutbox({ type: 'abort', requestId });
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'accepted':
        this.channels.get(m.requestId)?.push({ kind: 'accepted' });
        return;
      case 'rejected':
        this.channels.get(m.requestId)?.push({ kind: 'error', error: toError(m.error) });
        return;
      case 'outputs':
        if (m.stats) this.latest = m.stats;
        for (const a of m.admitted)
          this.channels.get(a.requestId)?.push({ kind: 'admitted', queueMs: a.queueMs });
        for (const o of m.outputs)
          this.channels.get(o.requestId)?.push({ kind: 'output', output: o });
        return;
      case 'stats':
        this.latest = m.stats;
        if (m.replyTo !== null) {
          this.statsWaiters.get(m.replyTo)?.(m.stats);
          this.statsWaiters.delete(m.replyTo);
        }
        return;
      case 'prefix-exported':
      case 'prefix-imported':
        this.prefixWaiters.get(m.replyTo)?.(m);
        this.prefixWaiters.delete(m.replyTo);
        return;
      case 'fatal':
        this.fail(new Error(`the engine failed: ${m.error.message}`));
        return;
      default:
        return;
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const c of this.channels.values()) c.push({ kind: 'error', error: err });
    for (const resolve of this.prefixWaiters.values()) resolve(null);
    this.prefixWaiters.clear();
  }

  get failed(): Error | null {
    return this.failure;
  }

  stats(): EngineStats {
    return this.latest;
  }

  /** Asks the worker for a fresh snapshot (answered between steps). */
  async refreshStats(): Promise<EngineStats> {
    if (this.failure || this.unloaded) return this.latest;
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.statsWaiters.set(id, resolve);
      this.send({ type: 'stats', replyTo: id });
    });
  }

  generate(request: GenerateRequest, signal?: AbortSignal): AsyncIterable<GenerateOutput> {
    return this.stream(request, signal);
  }

  /**
   * The cached full blocks that start `tokenIds` (none once the worker failed or unloads); with
   * `whenComputed`, once a request there that is computing them has done so.
   */
  async exportPrefix(
    tokenIds: number[],
    whenComputed = false,
    reuse: ArrayBuffer | null = null,
  ): Promise<PrefixBlocks> {
    const m = await this.askPrefix({
      type: 'export-prefix',
      tokenIds,
      whenComputed,
      reuse,
      replyTo: 0,
    });
    return m?.type === 'prefix-exported' && m.data ? { blocks: m.blocks, data: m.data } : NO_BLOCKS;
  }

  /** Caches another replica's exported blocks: the number written, and the spent buffer. */
  async importPrefix(tokenIds: number[], p: PrefixBlocks): Promise<ImportedPrefix> {
    if (p.blocks === 0) return { written: 0, spent: null };
    const m = await this.askPrefix({
      type: 'import-prefix',
      tokenIds,
      blocks: p.blocks,
      data: p.data,
      replyTo: 0,
    });
    return m?.type === 'prefix-imported'
      ? { written: m.blocks, spent: m.spent }
      : { written: 0, spent: null };
  }

  private askPrefix(
    message: Extract<HostMessage, { type: 'export-prefix' | 'import-prefix' }>,
  ): Promise<PrefixReply | null> {
    if (this.failure || this.unloaded) return Promise.resolve(null);
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.prefixWaiters.set(id, resolve);
      // After the requests of this tick: an export may wait for a prefix one of them computes.
      this.sendAfterOutbox({ ...message, replyTo: id });
    });
  }

  private async *stream(
    request: GenerateRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<GenerateOutput> {
    if (this.failure) throw this.failure;
    if (this.unloaded) throw new NotReadyError('The model is being unloaded.');
    const { params, promptTokenIds } = request;
    const total = promptTokenIds.length + params.maxTokens;
    if (total > this.info.contextLength) {
      throw new ContextLengthExceededError(
        `This model's maximum context length is ${this.info.contextLength} tokens. However, you requested ` +
          `${total} tokens (${promptTokenIds.length} in the prompt, ${params.maxTokens} for the completion).`,
      );
    }
    const id = `${request.requestId ?? 'req'}#${++this.nextId}`;
    const started = performance.now();
    const choices = Array.from(
      { length: Math.max(1, params.n) },
      (_, i) => new ChoiceText(i, this.tokenText, params.stop),
    );
    const channel = new Channel();
    let queueMs: number | null = null;
    let firstTokenMs: number | null = null;
    let promptTokens = promptTokenIds.length;
    let cachedPromptTokens = 0;

    const final = (deltas: ChoiceDelta[]): GenerateOutput => {
      const totalMs = performance.now() - started;
      return {
        choices: deltas,
        usage: {
          promptTokens,
          completionTokens: choices.reduce((a, c) => a + c.completionTokens, 0),
          cachedPromptTokens,
        },
        timing: { queueMs: queueMs ?? totalMs, firstTokenMs: firstTokenMs ?? totalMs, totalMs },
      };
    };
    const closeAll = (): ChoiceDelta[] =>
      choices.map((c) => c.close('abort')).filter((d): d is ChoiceDelta => d !== null);

    if (signal?.aborted) {
      yield final(closeAll());
      return;
    }
    this.channels.set(id, channel);
    let workerDone = false;
    const onAbort = (): void => this.abortRequest(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.submit({ id, promptTokenIds, params });
      for (;;) {
        const ev = await channel.next();
        if (ev.kind === 'error') {
          workerDone = true;
          throw ev.error;
        }
        if (ev.kind === 'accepted') continue;
        if (ev.kind === 'admitted') {
          queueMs = ev.queueMs;
          continue;
        }
        if (ev.kind === 'closed') {
          workerDone = true;
          yield final(closeAll());
          return;
        }
        const o = ev.output;
        promptTokens = o.promptTokens;
        cachedPromptTokens = o.cachedPromptTokens;
        const deltas: ChoiceDelta[] = [];
        for (const c of o.choices) {
          const d = choices[c.index]?.push(c.newTokenIds, c.logprobs, c.finishReason);
          if (!d) continue;
          deltas.push(d);
          // A stop string ended this choice where the core cannot see it: free its blocks now
          // rather than decode it until the request's last choice ends.
          if (d.finishReason === 'stop' && c.finishReason === null && !o.finished) {
            this.sendAfterOutbox({ type: 'finish-choice', requestId: id, index: c.index });
          }
        }
        if (firstTokenMs === null && deltas.some((d) => d.tokenIds.length > 0)) {
          firstTokenMs = performance.now() - started;
        }
        if (o.finished) {
          workerDone = true;
          deltas.push(...closeAll());
        }
        if (choices.every((c) => c.finished)) {
          yield final(deltas);
          return;
        }
        if (deltas.length > 0) yield { choices: deltas };
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.channels.delete(id);
      // Stop strings end a request before the core knows; so does a consumer that stops reading.
      if (!workerDone && !this.failure && !this.unloaded) this.abortRequest(id);
    }
  }

  async unload(): Promise<void> {
    if (this.unloaded) return this.unloaded;
    this.unloaded = (async () => {
      for (const c of this.channels.values()) c.push({ kind: 'closed' });
      for (const resolve of this.prefixWaiters.values()) resolve(null);
      this.prefixWaiters.clear();
      if (this.failure) {
        await this.worker.terminate();
        return;
      }
      const done = new Promise<void>((resolve) => {
        this.worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'unloaded') resolve();
        });
        this.worker.once('exit', () => resolve());
      });
      this.send({ type: 'unload' });
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000).unref())]);
      await this.worker.terminate();
    })();
    return this.unloaded;
  }
}

/**
 * Loads a model folder into its engine: one worker, or with `options.replicas` (0 = auto)
 * several, each with its share of the threads and of the KV budget.
 */
export async function loadEngine(
  modelDir: string,
  options: EngineOptions,
  onProgress?: (p: LoadProgress) => void,
): Promise<LocalEngine> {
  const plan =
    options.replicas === undefined || options.replicas === 1
      ? null
      : planReplicas({
          requested: options.replicas,
          threads: options.threads,
          cores: os.availableParallelism(),
          modelBytes: await onnxBytes(modelDir),
          onCpu: await runsOnCpu(options.executionProvider),
        });
  if (plan === null || plan.replicas === 1) {
    const host = await loadEngineWorker(modelDir, options, onProgress);
    host.info.replicas = 1;
    host.info.threadsPerReplica = options.threads;
    if (plan) host.info.replicasReason = plan.reason;
    return host;
  }
  const each: EngineOptions = {
    ...options,
    threads: plan.threadsPerReplica,
    kvCacheBytes: Math.floor(options.kvCacheBytes / plan.replicas),
  };
  const slots = replicaSlots(plan.replicas, plan.wideThreads);
  const fractions = new Array<number>(plan.replicas).fill(0);
  const loads = slots.map((slot, i) =>
    loadEngineWorker(
      modelDir,
      each,
      (p) => {
        fractions[i] = p.fraction;
        const fraction = fractions.reduce((a, f) => a + f, 0) / fractions.length;
        onProgress?.({ stage: p.stage, fraction });
      },
      slot,
    ),
  );
  const settled = await Promise.allSettled(loads);
  const hosts = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(hosts.map((h) => h.unload()));
    throw failed.reason;
  }
  return new ReplicatedEngine(hosts, plan, options.enablePrefixCaching, slots[0].activity);
}

/** Bytes of the model's graph and its external weights, for the replica plan. */
async function onnxBytes(modelDir: string): Promise<number> {
  try {
    const { onnxPath } = await readModelConfig(modelDir);
    const dir = path.dirname(onnxPath);
    const base = path.basename(onnxPath);
    let total = 0;
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isFile() && e.name.startsWith(base)) total += statSync(path.join(dir, e.name)).size;
    return total;
  } catch {
    // Not a model folder: the worker's load says what is missing.
    return 0;
  }
}

/** Whether `requested` can only end on the CPU here (no accelerator is even a candidate). */
async function runsOnCpu(requested: EngineOptions['executionProvider']): Promise<boolean> {
  if (requested === 'cpu') return true;
  // Loaded here only when a plan needs it: the service's own thread does not run models.
  const ort = await import('onnxruntime-node');
  const { candidates } = planProviders(
    requested,
    ort.listSupportedBackends(),
    process.platform,
    gpuDevicePresent(process.platform),
  );
  return candidates.every((c) => c === 'cpu');
}

/** Loads a model folder into a new engine worker. */
async function loadEngineWorker(
  modelDir: string,
  options: EngineOptions,
  onProgress?: (p: LoadProgress) => void,
  replica?: ReplicaSlot,
): Promise<EngineHost> {
  const worker = spawnWorker();
  let onMessage: ((m: WorkerMessage) => void) | undefined;
  let onError: ((err: Error) => void) | undefined;
  let onExit: ((code: number) => void) | undefined;
  try {
    const loaded = new Promise<{ info: ModelInfo; stats: EngineStats }>((resolve, reject) => {
      onMessage = (m: WorkerMessage): void => {
        if (m.type === 'progress') onProgress?.(m.progress);
        else if (m.type === 'loaded') resolve({ info: m.info, stats: m.stats });
        else if (m.type === 'load-failed')
          reject(new Error(`cannot load ${modelDir}: ${m.error.message}`));
      };
      onError = reject;
      onExit = (code) => reject(new Error(`the engine worker exited while loading (code ${code})`));
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    worker.postMessage({ type: 'load', modelDir, options, replica } satisfies HostMessage);
    const { info, stats } = await loaded;
    worker.off('message', onMessage!);
    worker.off('error', onError!);
    worker.off('exit', onExit!);
    const tokenizer = await loadModelTokenizer(modelDir, {
      bosTokenId: info.bosTokenId,
      eosTokenIds: info.eosTokenIds,
    });
    return new EngineHost(worker, info, tokenizer, stats);
  } catch (err) {
    await worker.terminate();
    throw err;
  }
}
