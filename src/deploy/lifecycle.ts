/**
 * Which model versions are loaded, kept apart from token batching (as Ollama's scheduler is):
 * load on first use or on demand, unload after a keep-alive of idleness, and make room under
 * `maxLoaded` and the memory budget by unloading the least recently used idle version. A version
 * with requests in flight is never unloaded; a request that needs room waits for one to finish.
 */
import type { Logger } from 'pino';
import type { Engine, EngineOptions, LoadProgress } from '../engine/types.js';
import { NotReadyError, OrchardError } from '../shared/errors.js';
import { realClock, type Clock } from './clock.js';
import { idlePlan } from '../shared/timer-limits.js';

export type { Clock } from './clock.js';

export type EngineLoader = (
  dir: string,
  options: EngineOptions,
  onProgress?: (p: LoadProgress) => void,
) => Promise<Engine>;

export interface LoadTarget {
  /** `model@version`. */
  key: string;
  model: string;
  version: string;
  versionId: number;
  dir: string;
  /** Weights + KV cache budget (+ a draft model's weights when it speculates with one). */
  memoryEstimateBytes: number;
  /** Options for this version's engine (speculative mode, draft model); the defaults otherwise. */
  engineOptions?: EngineOptions;
}

export interface EngineHold {
  engine: Engine;
  target: LoadTarget;
  /** Ends this use; `keepAliveMs` is the request's override (Ollama's keep_alive). */
  release(keepAliveMs?: number): void;
}

export interface LoadedSlotView {
  target: LoadTarget;
  engine: Engine;
  inflight: number;
  loadedAt: number;
  lastUsedAt: number;
  /** When the keep-alive unloads it; null while busy or when kept loaded. */
  expiresAt: number | null;
}

interface Slot {
  target: LoadTarget;
  engine: Engine | null;
  loading: Promise<Engine> | null;
  unloading: Promise<void> | null;
  inflight: number;
  loadedAt: number;
  lastUsedAt: number;
  timer: unknown;
  expiresAt: number | null;
  /** Unload as soon as the last request ends (an old version after a switch). */
  retiring: boolean;
  /** An explicit unload waits for the last request; new requests do not cancel it. */
  unloadRequested: boolean;
}

export interface LifecycleOptions {
  load: EngineLoader;
  engineOptions: EngineOptions;
  logger: Logger;
  /** Idle time before unloading (ms); 0 keeps versions loaded. */
  keepAliveMs: number;
  maxLoaded: number;
  /** Bytes for all loaded versions; 0 means no limit. */
  memoryBudgetBytes: number;
  clock?: Clock;
  /** How long a request waits for a busy version to free its place before giving up. */
  roomWaitMs?: number;
  onChange?: () => void;
}

const MiB = 1024 * 1024;
export const fmtMiB = (b: number): string => `${Math.round(b / MiB)} MB`;

export class LifecycleManager {
  private readonly slots = new Map<string, Slot>();
  private readonly clock: Clock;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: LifecycleOptions) {
    this.clock = options.clock ?? realClock;
  }

  /** Loaded engines, for ps, /metrics and the UI. */
  loaded(): LoadedSlotView[] {
    const out: LoadedSlotView[] = [];
    for (const s of this.slots.values()) {
      if (s.engine && !s.unloading) {
        out.push({
          target: s.target,
          engine: s.engine,
          inflight: s.inflight,
          loadedAt: s.loadedAt,
          lastUsedAt: s.lastUsedAt,
          expiresAt: s.expiresAt,
        });
      }
    }
    return out;
  }

  isLoaded(key: string): boolean {
    const s = this.slots.get(key);
    return !!s?.engine && !s.unloading;
  }

  inflight(key: string): number {
    return this.slots.get(key)?.inflight ?? 0;
  }

  /**
   * A hold on the version's engine, loading it first when needed. The hold is taken before the
   * first await when the engine is already loaded, so a concurrent unload can never slip between
   * the routing decision and the hold.
   */
  async acquire(target: LoadTarget, options: { signal?: AbortSignal } = {}): Promise<EngineHold> {
    if (this.closed) throw new NotReadyError('The server is shutting down.');
    let slot = this.slots.get(target.key);
    if (slot?.engine && !slot.unloading) return this.hold(slot);
    if (!slot) {
      slot = this.newSlot(target);
      this.slots.set(target.key, slot);
    }
    // Counted as in flight while loading, so eviction leaves it alone.
    slot.inflight++;
    this.cancelIdle(slot);
    try {
      await this.ensureLoaded(slot, options.signal);
    } catch (err) {
      slot.inflight--;
      this.dropIfEmpty(slot);
      this.notify();
      throw err;
    }
    slot.inflight--;
    return this.hold(slot);
  }

  /** Loads without holding (admin "load"); resolves with the engine. */
  async load(target: LoadTarget): Promise<Engine> {
    const h = await this.acquire(target);
    const engine = h.engine;
    h.release();
    return engine;
  }

  /** Unloads once idle. Requests arriving meanwhile keep it loaded (they clear `retiring`). */
  retire(key: string): void {
    const s = this.slots.get(key);
    if (!s) return;
    s.retiring = true;
    if (s.inflight === 0 && s.engine) void this.unloadSlot(s, 'retired after a switch');
  }

  /** Unloads now if idle, else when the last request ends. Resolves when it is unloaded. */
  async unload(key: string): Promise<void> {
    const s = this.slots.get(key);
    if (!s) return;
    if (s.loading) await s.loading.catch(() => undefined);
    if (s.inflight > 0) {
      s.unloadRequested = true;
      await new Promise<void>((resolve) => {
        const check = () => {
          if (
            !this.slots.has(key) ||
            this.slots.get(key) !== s ||
            (s.inflight === 0 && !s.engine)
          ) {
            this.waiters.delete(check);
            resolve();
          }
        };
        this.waiters.add(check);
      });
      return;
    }
    await this.unloadSlot(s, 'unloaded on request');
  }

  /** Unloads (after in-flight requests) and loads again, e.g. with new engine options. */
  async reload(target: LoadTarget): Promise<Engine> {
    await this.unload(target.key);
    return this.load(target);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.slots.values()];
    await Promise.all(
      all.map(async (s) => {
        const engine = s.engine ?? (await s.loading?.catch(() => null)) ?? null;
        this.cancelIdle(s);
        s.engine = null;
        if (engine) await engine.unload().catch(() => undefined);
      }),
    );
    this.slots.clear();
    this.notify();
  }

  private newSlot(target: LoadTarget): Slot {
    const now = this.clock.now();
    return {
      target,
      engine: null,
      loading: null,
      unloading: null,
      inflight: 0,
      loadedAt: now,
      lastUsedAt: now,
      timer: null,
      expiresAt: null,
      retiring: false,
      unloadRequested: false,
    };
  }

  private hold(slot: Slot): EngineHold {
    slot.inflight++;
    slot.retiring = false;
    slot.lastUsedAt = this.clock.now();
    this.cancelIdle(slot);
    let released = false;
    return {
      engine: slot.engine!,
      target: slot.target,
      release: (keepAliveMs?: number) => {
        if (released) return;
        released = true;
        slot.inflight--;
        slot.lastUsedAt = this.clock.now();
        if (slot.inflight === 0) this.idle(slot, keepAliveMs);
        this.notify();
      },
    };
  }

  private async ensureLoaded(slot: Slot, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (slot.unloading) await slot.unloading;
      if (slot.engine && !slot.unloading) return;
      if (slot.loading) {
        await slot.loading;
        continue;
      }
      await this.makeRoom(slot, signal);
      if (slot.engine || slot.loading) continue;
      slot.loading = this.startLoad(slot);
      try {
        await slot.loading;
      } finally {
        slot.loading = null;
      }
    }
  }

  private async startLoad(slot: Slot): Promise<Engine> {
    const t = slot.target;
    const { logger } = this.options;
    const kv = this.options.engineOptions.kvCacheBytes;
    logger.info(
      { model: t.key, estimateBytes: t.memoryEstimateBytes },
      `loading ${t.key} (estimated ${fmtMiB(t.memoryEstimateBytes)}: weights ${fmtMiB(t.memoryEstimateBytes - kv)} + KV cache ${fmtMiB(kv)})`,
    );
    const started = this.clock.now();
    let engine: Engine;
    try {
      engine = await this.options.load(t.dir, t.engineOptions ?? this.options.engineOptions);
    } catch (err) {
      logger.error({ model: t.key, err }, 'model failed to load');
      throw new OrchardError(
        `${t.key} failed to load: ${(err as Error).message}`,
        503,
        'service_unavailable',
        'model',
        'load_failed',
      );
    }
    if (this.closed) {
      await engine.unload();
      throw new NotReadyError('The server is shutting down.');
    }
    slot.engine = engine;
    slot.loadedAt = this.clock.now();
    slot.lastUsedAt = slot.loadedAt;
    logger.info(
      { model: t.key, ms: slot.loadedAt - started, device: engine.info.executionProvider },
      'model loaded',
    );
    this.notify();
    return engine;
  }

  /** Unloads least-recently-used idle versions until `slot` fits; waits when all are busy. */
  private async makeRoom(slot: Slot, signal?: AbortSignal): Promise<void> {
    const { maxLoaded, memoryBudgetBytes, roomWaitMs = 120_000 } = this.options;
    const need = slot.target.memoryEstimateBytes;
    if (memoryBudgetBytes > 0 && need > memoryBudgetBytes) {
      throw new OrchardError(
        `${slot.target.key} needs about ${fmtMiB(need)} but the memory budget (memoryBudgetMb) is ${fmtMiB(memoryBudgetBytes)}.`,
        503,
        'service_unavailable',
        'model',
        'insufficient_memory',
      );
    }
    const deadline = this.clock.now() + roomWaitMs;
    for (;;) {
      const others = [...this.slots.values()].filter((s) => s !== slot && (s.engine || s.loading));
      const used = others.reduce((sum, s) => sum + s.target.memoryEstimateBytes, 0);
      const tooMany = others.length + 1 > maxLoaded;
      const tooBig = memoryBudgetBytes > 0 && used + need > memoryBudgetBytes;
      if (!tooMany && !tooBig) return;
      const victim = others
        .filter((s) => s.engine && !s.loading && s.inflight === 0)
        .sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (victim) {
        await this.unloadSlot(
          victim,
          tooMany ? `maxLoaded ${maxLoaded} reached` : 'memory budget reached',
        );
        continue;
      }
      if (this.clock.now() >= deadline || signal?.aborted) {
        throw new NotReadyError(
          `Cannot load ${slot.target.key}: ${others.length} loaded version(s) are all busy ` +
            `(maxLoaded ${maxLoaded}${memoryBudgetBytes > 0 ? `, memory budget ${fmtMiB(memoryBudgetBytes)}` : ''}). Retry shortly.`,
        );
      }
      await this.waitForChange(Math.max(0, deadline - this.clock.now()), signal);
    }
  }

  private waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: unknown = null;
      const done = () => {
        this.waiters.delete(done);
        if (timer !== null) this.clock.clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      timer = this.clock.setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
    this.options.onChange?.();
  }

  private idle(slot: Slot, keepAliveMs: number | undefined): void {
    if (!slot.engine || this.closed) return;
    if (slot.retiring || slot.unloadRequested) {
      void this.unloadSlot(slot, slot.retiring ? 'retired after a switch' : 'unloaded on request');
      return;
    }
    const plan = idlePlan(keepAliveMs, this.options.keepAliveMs);
    if (plan.kind === 'keep-loaded') return;
    if (plan.kind === 'unload-now') {
      void this.unloadSlot(slot, 'keep_alive 0');
      return;
    }
    const { ms } = plan;
    slot.expiresAt = this.clock.now() + ms;
    slot.timer = this.clock.setTimeout(() => {
      slot.timer = null;
      if (slot.inflight === 0) void this.unloadSlot(slot, 'idle (keep-alive elapsed)');
    }, ms);
  }

  private cancelIdle(slot: Slot): void {
    if (slot.timer !== null) this.clock.clearTimeout(slot.timer);
    slot.timer = null;
    slot.expiresAt = null;
  }

  private unloadSlot(slot: Slot, why: string): Promise<void> {
    if (slot.unloading) return slot.unloading;
    const engine = slot.engine;
    if (!engine || slot.inflight > 0) return Promise.resolve();
    this.cancelIdle(slot);
    this.options.logger.info({ model: slot.target.key, why }, `unloading ${slot.target.key}`);
    slot.unloading = engine
      .unload()
      .catch((err: Error) =>
        this.options.logger.warn({ model: slot.target.key, err }, 'unload failed'),
      )
      .then(() => {
        slot.engine = null;
        slot.unloading = null;
        slot.retiring = false;
        slot.unloadRequested = false;
        this.dropIfEmpty(slot);
        this.notify();
      });
    return slot.unloading;
  }

  private dropIfEmpty(slot: Slot): void {
    if (
      !slot.engine &&
      !slot.loading &&
      !slot.unloading &&
      slot.inflight === 0 &&
      this.slots.get(slot.target.key) === slot
    ) {
      this.slots.delete(slot.target.key);
    }
  }
}
