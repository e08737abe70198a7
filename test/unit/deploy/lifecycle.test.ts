/**
 * The lifecycle manager on the real engine and the shipped models, with a manual clock for
 * keep-alive: JIT loads shared by concurrent requests, LRU eviction under maxLoaded and the
 * memory budget, never unloading a version with requests in flight, keep-alive and retirement.
 */
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEngine } from '../../../src/engine/engine-host.js';
import { engineOptionsFromSettings } from '../../../src/engine/engine-options.js';
import { LifecycleManager, type Clock, type LoadTarget } from '../../../src/deploy/lifecycle.js';
import { defaultSettings } from '../../../src/shared/settings.js';
import { SHIPPED_DIR } from '../registry/helpers.js';

class ManualClock implements Clock {
  t = 1_000_000;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  advance(ms: number): void {
    this.t += ms;
    const due = this.timers.filter((x) => x.at <= this.t);
    this.timers = this.timers.filter((x) => x.at > this.t);
    for (const d of due) d.fn();
  }
}

const MiB = 1024 * 1024;
const engineOptions = engineOptionsFromSettings({
  ...defaultSettings(),
  threads: 1,
  kvCacheMb: 16,
});
const target = (folder: string, version = '1', estimateMb = 60): LoadTarget => ({
  key: `${folder}@${version}`,
  model: folder,
  version,
  versionId: folder.length,
  dir: path.join(SHIPPED_DIR, folder),
  memoryEstimateBytes: estimateMb * MiB,
});
const CHAT1 = target('orchard-chat-1');
const CHAT2 = target('orchard-chat-2');
const DRAFT = target('orchard-draft', '1', 30);

let managers: LifecycleManager[] = [];
afterEach(async () => {
  for (const m of managers) await m.close();
  managers = [];
});

function manager(options: Partial<ConstructorParameters<typeof LifecycleManager>[0]> = {}): {
  lm: LifecycleManager;
  clock: ManualClock;
  loads: string[];
} {
  const clock = new ManualClock();
  const loads: string[] = [];
  const lm = new LifecycleManager({
    load: (dir, opts, onProgress) => {
      loads.push(path.basename(dir));
      return loadEngine(dir, opts, onProgress);
    },
    engineOptions,
    logger: pino({ level: 'silent' }),
    keepAliveMs: 0,
    maxLoaded: 3,
    memoryBudgetBytes: 0,
    clock,
    ...options,
  });
  managers.push(lm);
  return { lm, clock, loads };
}

const loadedKeys = (lm: LifecycleManager) =>
  lm
    .loaded()
    .map((s) => s.target.key)
    .sort();

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 50));
}

describe('lifecycle manager', () => {
  it('loads on first use, once for concurrent requests', async () => {
    const { lm, loads } = manager();
    const holds = await Promise.all([lm.acquire(CHAT1), lm.acquire(CHAT1), lm.acquire(CHAT1)]);
    expect(loads).toEqual(['orchard-chat-1']);
    expect(holds[0].engine).toBe(holds[2].engine);
    expect(lm.inflight(CHAT1.key)).toBe(3);
    for (const h of holds) h.release();
    expect(lm.inflight(CHAT1.key)).toBe(0);
    expect(loadedKeys(lm)).toEqual([CHAT1.key]);
  });

  it('evicts the least recently used idle version at maxLoaded, never one in flight', async () => {
    const { lm, clock, loads } = manager({ maxLoaded: 2, roomWaitMs: 60_000 });
    const busy = await lm.acquire(CHAT1);
    clock.advance(10);
    (await lm.acquire(CHAT2)).release();
    clock.advance(10);
    // chat-1 is older but busy: chat-2 goes.
    (await lm.acquire(DRAFT)).release();
    expect(loadedKeys(lm)).toEqual([CHAT1.key, DRAFT.key]);
    // Both places taken, chat-1 busy, draft idle → draft goes for chat-2.
    (await lm.acquire(CHAT2)).release();
    expect(loadedKeys(lm)).toEqual([CHAT1.key, CHAT2.key]);
    expect(busy.engine.stats()).toBeDefined();
    busy.release();
    expect(loads).toEqual(['orchard-chat-1', 'orchard-chat-2', 'orchard-draft', 'orchard-chat-2']);
  });

  it('waits for a busy version to finish before making room, and gives up with a clear error', async () => {
    const { lm, clock } = manager({ maxLoaded: 1, roomWaitMs: 5_000 });
    const busy = await lm.acquire(CHAT1);
    let got = false;
    const waiting = lm.acquire(DRAFT).then((h) => {
      got = true;
      return h;
    });
    await settle();
    expect(got).toBe(false);
    busy.release();
    const h = await waiting;
    expect(loadedKeys(lm)).toEqual([DRAFT.key]);
    const stuck = lm.acquire(CHAT1);
    await settle();
    clock.advance(5_001);
    await expect(stuck).rejects.toThrow(
      /Cannot load orchard-chat-1@1: 1 loaded version\(s\) are all busy \(maxLoaded 1\)/,
    );
    h.release();
  });

  it('keeps the memory budget and refuses a version larger than the whole budget', async () => {
    const { lm } = manager({ memoryBudgetBytes: 100 * MiB });
    (await lm.acquire(CHAT1)).release();
    (await lm.acquire(DRAFT)).release();
    expect(loadedKeys(lm)).toEqual([CHAT1.key, DRAFT.key]);
    (await lm.acquire(CHAT2)).release();
    expect(loadedKeys(lm)).toEqual([CHAT2.key, DRAFT.key]);
    await expect(lm.acquire(target('orchard-chat-1', 'big', 500))).rejects.toThrow(
      /needs about 500 MB but the memory budget \(memoryBudgetMb\) is 100 MB/,
    );
  });

  it('unloads after the keep-alive, honours per-request keep_alive, and keeps a reused version', async () => {
    const { lm, clock } = manager({ keepAliveMs: 60_000 });
    const h = await lm.acquire(CHAT1);
    expect(lm.loaded()[0].expiresAt).toBeNull();
    h.release();
    expect(lm.loaded()[0].expiresAt).toBe(clock.now() + 60_000);
    clock.advance(30_000);
    (await lm.acquire(CHAT1)).release();
    clock.advance(59_000);
    expect(lm.isLoaded(CHAT1.key)).toBe(true);
    clock.advance(2_000);
    await settle();
    expect(lm.isLoaded(CHAT1.key)).toBe(false);
    // keep_alive 0 on a request unloads right after it; negative keeps it loaded.
    (await lm.acquire(DRAFT)).release(-1);
    clock.advance(10 * 60_000);
    expect(lm.isLoaded(DRAFT.key)).toBe(true);
    (await lm.acquire(DRAFT)).release(0);
    await settle();
    expect(lm.isLoaded(DRAFT.key)).toBe(false);
  });

  it('keeps a version loaded when the keep-alive is too long for a timer', async () => {
    // setTimeout cannot hold 2^31-1 ms or more: Node fires such timers after 1 ms.
    const { lm, clock } = manager({ keepAliveMs: Infinity });
    (await lm.acquire(CHAT1)).release();
    expect(lm.loaded()[0].expiresAt).toBeNull();
    (await lm.acquire(CHAT1)).release(2 ** 31 - 1);
    expect(lm.loaded()[0].expiresAt).toBeNull();
    (await lm.acquire(CHAT1)).release(40 * 24 * 3600 * 1000);
    expect(lm.loaded()[0].expiresAt).toBeNull();
    clock.advance(2 ** 32);
    await settle();
    expect(lm.isLoaded(CHAT1.key)).toBe(true);
    // Just under the limit still arms a timer.
    (await lm.acquire(CHAT1)).release(2 ** 31 - 2);
    expect(lm.loaded()[0].expiresAt).toBe(clock.now() + 2 ** 31 - 2);
  });

  it('retires a version once its last request ends', async () => {
    const { lm } = manager();
    const h = await lm.acquire(CHAT1);
    lm.retire(CHAT1.key);
    await settle();
    expect(lm.isLoaded(CHAT1.key)).toBe(true);
    h.release();
    await settle();
    expect(lm.isLoaded(CHAT1.key)).toBe(false);
  });
});
