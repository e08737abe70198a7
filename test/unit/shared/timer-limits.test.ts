import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, idlePlan } from '../../../src/shared/timer-limits.js';

describe('idle plan (keep_alive)', () => {
  it("follows Ollama: a request's value wins; negative keeps loaded; a request's 0 unloads now", () => {
    expect(idlePlan(undefined, 300_000)).toEqual({ kind: 'unload-after', ms: 300_000 });
    expect(idlePlan(5_000, 300_000)).toEqual({ kind: 'unload-after', ms: 5_000 });
    expect(idlePlan(-1, 300_000)).toEqual({ kind: 'keep-loaded' });
    expect(idlePlan(0, 300_000)).toEqual({ kind: 'unload-now' });
  });

  it("reads the setting's 0 as keep loaded, and keeps loaded past what a timer holds", () => {
    expect(idlePlan(undefined, 0)).toEqual({ kind: 'keep-loaded' });
    expect(idlePlan(undefined, -1)).toEqual({ kind: 'keep-loaded' });
    expect(idlePlan(MAX_TIMER_MS, 300_000)).toEqual({ kind: 'keep-loaded' });
    expect(idlePlan(undefined, MAX_TIMER_MS + 1)).toEqual({ kind: 'keep-loaded' });
    expect(idlePlan(MAX_TIMER_MS - 1, 0)).toEqual({ kind: 'unload-after', ms: MAX_TIMER_MS - 1 });
  });
});
