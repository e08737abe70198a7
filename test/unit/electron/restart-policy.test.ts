import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RESTART_POLICY,
  decideAfterCrash,
  restartDelay,
  type RestartPolicy,
} from '../../../electron/main/restart-policy.js';

const policy: RestartPolicy = {
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 1000,
  maxCrashes: 5,
  crashWindowMs: 10_000,
};

describe('restart policy', () => {
  it('doubles the delay per crash in the window, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => restartDelay(policy, n))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('restarts until maxCrashes crashes fall within the window, then gives up', () => {
    const times: number[] = [];
    const decisions = [0, 1, 2, 3, 4].map((i) => {
      times.push(i * 1000);
      return decideAfterCrash(policy, times, i * 1000);
    });
    expect(decisions.map((d) => d.action)).toEqual([
      'restart',
      'restart',
      'restart',
      'restart',
      'give-up',
    ]);
    expect(decisions.slice(0, 4).map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([
      100, 200, 400, 800,
    ]);
  });

  it('forgets crashes older than the window, so a service that ran a while starts over', () => {
    const d = decideAfterCrash(policy, [0, 1000, 2000, 3000, 50_000], 50_000);
    expect(d).toEqual({ action: 'restart', delayMs: 100, crashesInWindow: 1 });
  });

  it('counts failed starts apart from the window: slow failures give up too, with growing delays', () => {
    // One crash a minute never fills a 10 s window, but each start failed.
    const decisions = [1, 2, 3, 4, 5].map((failed) =>
      decideAfterCrash(policy, [failed * 60_000], failed * 60_000, failed),
    );
    expect(decisions.map((d) => d.action)).toEqual([
      'restart',
      'restart',
      'restart',
      'restart',
      'give-up',
    ]);
    expect(decisions.slice(0, 4).map((d) => (d.action === 'restart' ? d.delayMs : -1))).toEqual([
      100, 200, 400, 800,
    ]);
    expect(decisions[4]).toEqual({ action: 'give-up', crashesInWindow: 1, reason: 'starts' });
    // A full window gives up for its own reason.
    const burst = decideAfterCrash(policy, [0, 1, 2, 3, 4], 4, 0);
    expect(burst).toEqual({ action: 'give-up', crashesInWindow: 5, reason: 'window' });
  });

  it('has defaults that give up within a couple of minutes, not loop forever', () => {
    expect(DEFAULT_RESTART_POLICY.maxCrashes).toBeGreaterThan(1);
    let total = 0;
    for (let n = 1; n < DEFAULT_RESTART_POLICY.maxCrashes; n++) {
      total += restartDelay(DEFAULT_RESTART_POLICY, n);
    }
    expect(total).toBeLessThan(DEFAULT_RESTART_POLICY.crashWindowMs);
  });
});
