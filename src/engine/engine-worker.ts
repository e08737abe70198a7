/**
 * The engine worker (one worker_thread per loaded model version): loads the ONNX model, builds
 * the paged-KV runner and the EngineCore, and runs the step loop while there is work. Messages
 * that arrive during a step are applied between steps, so the core is never touched mid-step.
 */
import { parentPort } from 'node:worker_threads';
import { BusyError, ContextLengthExceededError, InvalidRequestError } from '../shared/errors.js';
import { STATS_INTERVAL_MS, transferables } from '../shared/engine-protocol.js';
import type { HostMessage, WorkerError, WorkerMessage } from '../shared/engine-protocol.js';
import { EngineCore } from './engine-core.js';
import { openModelSession } from './onnx-session.js';
import { OnnxRunner } from './onnx-runner.js';
import { drainPort } from './port-drain.js';
import { OutputBatcher, type QueuedAdmission } from './output-batcher.js';
import { ReplicaActivity, type ReplicaSlot } from './replica-activity.js';
import type { ModelRunner } from './runner-types.js';
import {
  openDraftRunner,
  resolveDraftModelDir,
  speculativeConfig,
} from './speculative/draft-model.js';
import type { EngineOptions, LoadProgress, ModelInfo } from './types.js';

if (!parentPort) throw new Error('engine-worker must run in a worker thread');
const port = parentPort;

function post(message: WorkerMessage): void {
  port.postMessage(message, transferables(message));
}

function toWorkerError(err: unknown): WorkerError {
  if (err instanceof BusyError) return { kind: 'busy', message: err.message };
  if (err instanceof ContextLengthExceededError)
    return { kind: 'context_length', message: err.message, param: err.param };
  if (err instanceof InvalidRequestError)
    return { kind: 'invalid_request', message: err.message, param: err.param };
  return { kind: 'internal', message: err instanceof Error ? err.message : String(err) };
}

let core: EngineCore | null = null;
let runner: OnnxRunner | null = null;
let draftRunner: ModelRunner | null = null;
let replicaActivity: ReplicaActivity | null = null;
let looping = false;
let unloading = false;
const inbox: HostMessage[] = [];
/** Worker-clock time each queued request was accepted, until it is first scheduled. */
const acceptedAt = new Map<string, number>();
const statsRequests: number[] = [];
let lastStatsAt = 0;

function answerStats(c: EngineCore): void {
  for (const replyTo of statsRequests.splice(0)) post({ type: 'stats', stats: c.stats(), replyTo });
}

async function load(
  modelDir: string,
  options: EngineOptions,
  replica: ReplicaSlot | undefined,
): Promise<void> {
  const progress = (stage: string, fraction: number): void => {
    const p: LoadProgress = { stage, fraction };
    post({ type: 'progress', progress: p });
  };
  progress('opening the ONNX model', 0.05);
  const model = await openModelSession(modelDir, {
    executionProvider: options.executionProvider,
    threads: options.threads,
    ownKvCache: true,
    wideThreads: replica?.wideThreads,
  });
  replicaActivity = replica ? new ReplicaActivity(replica) : null;
  const wide =
    model.wideSession && replicaActivity
      ? { session: model.wideSession, when: () => replicaActivity!.alone() }
      : undefined;
  progress('allocating the KV cache', 0.8);
  runner = new OnnxRunner(model.session, model.config, model.signature, {
    kvCacheBytes: options.kvCacheBytes,
    blockSize: options.blockSize,
    wide,
  });
  runner.kv.commitPages((f) => progress('allocating the KV cache', 0.8 + 0.05 * f));
  const draftDir = await resolveDraftModelDir(modelDir, options);
  if (draftDir !== null) {
    progress('opening the draft model', 0.85);
    draftRunner = await openDraftRunner(modelDir, draftDir, options, runner.numBlocks);
  }
  const { config } = model;
  core = new EngineCore(
    runner,
    {
      numBlocks: runner.numBlocks,
      blockSize: options.blockSize,
      maxRunning: options.maxRunningRequests,
      maxWaiting: options.maxWaitingRequests,
      maxBatchTokens: options.maxBatchTokens,
      enablePrefixCaching: options.enablePrefixCaching,
      maxModelLen: config.contextLength,
      eosTokenIds: config.eosTokenIds,
    },
    { draftRunner, speculative: speculativeConfig(options) },
  );
  const info: ModelInfo = {
    dir: config.dir,
    modelType: config.modelType,
    contextLength: config.contextLength,
    vocabSize: config.vocabSize,
    numLayers: config.numLayers,
    numKvHeads: config.numKvHeads,
    headDim: config.headDim,
    kvDtype: model.signature.kvDtype,
    numParams: config.numParams,
    bosTokenId: config.bosTokenId,
    eosTokenIds: config.eosTokenIds,
    executionProvider: model.provider,
    executionProviderReason: model.providerReason,
    samplingDefaults: config.samplingDefaults,
    draftModelDir: draftDir,
    wideThreads: model.wideSession && replica ? replica.wideThreads : 0,
  };
  progress('ready', 1);
  post({ type: 'loaded', info, stats: core.stats() });
}

/** Applies one host message to the core (only ever between steps). */
function apply(message: HostMessage, c: EngineCore): void {
  switch (message.type) {
    case 'generate': {
      for (const request of message.requests) {
        const id = request.id;
        try {
          c.addRequest(request);
          acceptedAt.set(id, performance.now());
          post({ type: 'accepted', requestId: id });
        } catch (err) {
          post({ type: 'rejected', requestId: id, error: toWorkerError(err) });
        }
      }
      return;
    }
    case 'abort':
      c.abort(message.requestId);
      return;
    case 'finish-choice':
      c.finishChoice(message.requestId, message.index, 'stop');
      return;
    case 'stats':
      // Answered after the next step, so aborts that came before it are already reflected.
      statsRequests.push(message.replyTo);
      return;
    case 'export-prefix':
      if (message.whenComputed && c.computingPrefix(message.tokenIds)) pendingExports.push(message);
      else answerExport(message, c);
      return;
    case 'import-prefix': {
      const blocks = c.importPrefix(message.tokenIds, message.blocks, message.data);
      // The buffer goes back for a later export to write into (already paged in).
      const spent = message.data.buffer as ArrayBuffer;
      post({ type: 'prefix-imported', blocks, spent, replyTo: message.replyTo });
      return;
    }
    default:
      return;
  }
}

const batcher = new OutputBatcher();

function postOutputs(c: EngineCore, stepMs: number, now: number): void {
  const withStats = now - lastStatsAt >= STATS_INTERVAL_MS;
  if (withStats) lastStatsAt = now;
  post({
    type: 'outputs',
    ...batcher.take(now),
    stepMs,
    ...(withStats ? { stats: c.stats() } : {}),
  });
}

type ExportMessage = Extract<HostMessage, { type: 'export-prefix' }>;
/** Exports waiting for a prefix a request here is computing (answered between steps). */
const pendingExports: ExportMessage[] = [];

function answerExport(message: ExportMessage, c: EngineCore): void {
  const { blocks, data } = c.exportPrefix(message.tokenIds, message.reuse);
  post({ type: 'prefix-exported', blocks, data, replyTo: message.replyTo });
  // The other replica's requests wait for this prefix and start once it arrives: the next step
  // here runs on this replica's own threads, not on every core.
  if (message.whenComputed) replicaActivity?.expectCompany();
}

/**
 * Answers the waiting exports whose prefix is now computed, or no longer being computed (its
 * request ended or was preempted); `all` answers every one with what is cached (idle, unload).
 */
function answerPendingExports(c: EngineCore, all: boolean): void {
  for (let i = 0; i < pendingExports.length;) {
    const message = pendingExports[i];
    if (!all && c.computingPrefix(message.tokenIds)) {
      i++;
      continue;
    }
    pendingExports.splice(i, 1);
    answerExport(message, c);
  }
}

let loopScheduled = false;

/**
 * Starts the loop on the next turn rather than on the first message, so requests posted together
 * (a burst of clients) are all in the inbox when the first step is planned.
 */
function scheduleLoop(): void {
  if (loopScheduled || looping) return;
  loopScheduled = true;
  setImmediate(() => {
    loopScheduled = false;
    void runLoop();
  });
}

async function runLoop(): Promise<void> {
  if (looping || !core) return;
  looping = true;
  const c = core;
  try {
    for (;;) {
      // Messages that arrived during the last model run are otherwise dispatched only during
      // the next one, after this step is planned (port-drain.ts).
      drainPort(port, receive);
      for (const m of inbox.splice(0)) apply(m, c);
      if (unloading || !c.hasWork()) {
        answerPendingExports(c, true);
        if (batcher.pending()) postOutputs(c, 0, performance.now());
        answerStats(c);
        break;
      }
      const started = performance.now();
      const callsBefore = runner?.counters.calls;
      const outputs = await c.step();
      const stepMs = performance.now() - started;
      replicaActivity?.stepDone();
      // First: another replica may be idle until this prefix arrives.
      if (pendingExports.length > 0) answerPendingExports(c, false);
      const admitted: QueuedAdmission[] = [];
      if (acceptedAt.size > 0) {
        for (const seq of c.scheduler.running) {
          const id = seq.request.id;
          const at = acceptedAt.get(id);
          if (at === undefined) continue;
          acceptedAt.delete(id);
          admitted.push({ requestId: id, queueMs: Math.max(0, started - at) });
        }
        for (const o of outputs) if (o.finished) acceptedAt.delete(o.requestId);
      }
      const now = performance.now();
      if (batcher.add(outputs, admitted, now) || statsRequests.length > 0) {
        postOutputs(c, stepMs, now);
      }
      answerStats(c);
      // A model run already passed through the event loop (messages that arrived during the
      // step are in the inbox); a step without one must still yield, or nothing new gets in.
      if (runner?.counters.calls === callsBefore) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    // Idle: the host's snapshot should show the final state (blocks freed, counters).
    if (!unloading) post({ type: 'stats', stats: c.stats(), replyTo: null });
  } catch (err) {
    post({ type: 'fatal', error: toWorkerError(err) });
    core = null;
  } finally {
    looping = false;
  }
  if (unloading) await finishUnload();
}

async function finishUnload(): Promise<void> {
  const r = runner;
  const d = draftRunner;
  runner = null;
  draftRunner = null;
  core = null;
  await r?.close();
  await d?.close();
  post({ type: 'unloaded' });
  port.close();
}

function receive(message: HostMessage): void {
  switch (message.type) {
    case 'load':
      load(message.modelDir, message.options, message.replica).catch((err: unknown) => {
        post({ type: 'load-failed', error: toWorkerError(err) });
      });
      return;
    case 'unload':
      unloading = true;
      if (!looping) void finishUnload();
      return;
    default:
      if (!core) {
        if (message.type === 'generate') {
          for (const request of message.requests) {
            post({
              type: 'rejected',
              requestId: request.id,
              error: { kind: 'internal', message: 'the engine is not loaded' },
            });
          }
        }
        return;
      }
      inbox.push(message);
      scheduleLoop();
  }
}

port.on('message', receive);
