import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Engine, EngineOptions } from '../../../src/engine/types.js';
import { BundledProvider } from '../../../src/service/bundled-provider.js';
import { NotReadyError } from '../../../src/shared/errors.js';

/** A loader that fails the first `failures` times, then hands out a stand-in engine. */
function flakyLoader(failures: number): { load: () => Promise<Engine>; calls: () => number } {
  let calls = 0;
  const engine = {
    info: { executionProvider: 'cpu', contextLength: 1024 },
    unload: async () => undefined,
  } as unknown as Engine;
  return {
    load: async () => {
      calls++;
      if (calls <= failures) throw new Error('out of memory');
      return engine;
    },
    calls: () => calls,
  };
}

function provider(load: () => Promise<Engine>, loadRetryMs: number): BundledProvider {
  return new BundledProvider({
    source: { dir: '/nonexistent', name: 'chat', version: '1' },
    engineOptions: {} as EngineOptions,
    load,
    logger: pino({ level: 'silent' }),
    keepAliveMs: 0,
    loadRetryMs,
  });
}

describe('BundledProvider after a failed load', () => {
  it('answers 503 at once within the retry interval, then loads again', async () => {
    const loader = flakyLoader(1);
    const p = provider(loader.load, 1000);
    await expect(p.acquire('chat', {})).rejects.toBeInstanceOf(NotReadyError);
    await expect(p.acquire('chat', {})).rejects.toThrow(/failed to load: out of memory/);
    expect(loader.calls()).toBe(1); // the second request did not hammer the loader
    await new Promise((r) => setTimeout(r, 1100));
    const lease = await p.acquire('chat', {});
    expect(loader.calls()).toBe(2);
    lease.done({ ok: true, e2eMs: 1, promptTokens: 0, completionTokens: 0 });
    await p.close();
  });
});
