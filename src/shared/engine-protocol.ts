/**
 * Messages between an engine host (service side) and its engine worker (worker_threads). Plain
 * structured-clone data only: token ids in, token ids out. Text, HTTP and JSON bodies stay on
 * the host side.
 */
import type { CoreOutput, CoreRequest } from '../engine/core-types.js';
import type { KvArray } from '../engine/paged-kv.js';
import type { ReplicaSlot } from '../engine/replica-activity.js';
import type { EngineOptions, EngineStats, LoadProgress, ModelInfo } from '../engine/types.js';

export type HostMessage =
  /** `replica`: this worker is one replica of the model (engine-replicas.ts). */
  | { type: 'load'; modelDir: string; options: EngineOptions; replica?: ReplicaSlot }
  /** Requests submitted in the same tick travel together, so one step can admit them all. */
  | { type: 'generate'; requests: CoreRequest[] }
  | { type: 'abort'; requestId: string }
  /** One choice of a request matched a stop string on the host: stop computing it. */
  | { type: 'finish-choice'; requestId: string; index: number }
  | { type: 'stats'; replyTo: number }
  /**
   * The cached full blocks that start these tokens, for another replica (engine-replicas.ts).
   * With `whenComputed`, answered at the end of the step that completes them while a request
   * there is still computing them (rather than with what is cached now).
   */
  | {
      type: 'export-prefix';
      tokenIds: number[];
      whenComputed: boolean;
      /** A spent export's memory to write into when large enough (see ReplicatedEngine). */
      reuse: ArrayBuffer | null;
      replyTo: number;
    }
  /** Cache `blocks` full blocks of these tokens from another replica's export. */
  | { type: 'import-prefix'; tokenIds: number[]; blocks: number; data: KvArray; replyTo: number }
  | { type: 'unload' };

/** Error kinds the host maps back to the typed classes of src/shared/errors.ts. */
export type WorkerErrorKind = 'busy' | 'context_length' | 'invalid_request' | 'internal';

export interface WorkerError {
  kind: WorkerErrorKind;
  message: string;
  /** The request field at fault, for invalid_request and context_length. */
  param?: string | null;
}

export type WorkerMessage =
  | { type: 'progress'; progress: LoadProgress }
  | { type: 'loaded'; info: ModelInfo; stats: EngineStats }
  | { type: 'load-failed'; error: WorkerError }
  /** The request entered the waiting queue. */
  | { type: 'accepted'; requestId: string }
  | { type: 'rejected'; requestId: string; error: WorkerError }
  /**
   * Engine steps' outputs, in order: one step's, or a fast stream's last few (output-batcher.ts).
   * `admitted` lists requests scheduled for the first time in those steps, with how long they
   * waited in the worker's queue. `stepMs` is the last step's duration.
   */
  | {
      type: 'outputs';
      outputs: CoreOutput[];
      admitted: Array<{ requestId: string; queueMs: number }>;
      stepMs: number;
      /** A fresh snapshot at most every STATS_INTERVAL_MS while busy (cloning it costs). */
      stats?: EngineStats;
    }
  | { type: 'stats'; stats: EngineStats; replyTo: number | null }
  | { type: 'prefix-exported'; blocks: number; data: KvArray | null; replyTo: number }
  /** `spent`: the import's buffer, moved back for a later export to write into. */
  | { type: 'prefix-imported'; blocks: number; spent: ArrayBuffer | null; replyTo: number }
  /** The step loop failed: every request in flight is lost. */
  | { type: 'fatal'; error: WorkerError }
  | { type: 'unloaded' };

/** How often a busy worker attaches a stats snapshot to its outputs. */
export const STATS_INTERVAL_MS = 100;

/**
 * The buffers a message moves to the other thread rather than copies: a prefix hand-off's keys
 * and values (a megabyte for 512 tokens) and the spent buffer that travels back for reuse.
 */
export function transferables(message: HostMessage | WorkerMessage): ArrayBuffer[] {
  switch (message.type) {
    case 'import-prefix':
      return [message.data.buffer as ArrayBuffer];
    case 'export-prefix':
      return message.reuse ? [message.reuse] : [];
    case 'prefix-exported':
      return message.data ? [message.data.buffer as ArrayBuffer] : [];
    case 'prefix-imported':
      return message.spent ? [message.spent] : [];
    default:
      return [];
  }
}
