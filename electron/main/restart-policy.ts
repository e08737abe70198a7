/**
 * When to restart a crashed service: exponential back-off, and a cap on crashes within a
 * sliding window so a service that cannot start ends in a visible error instead of a loop.
 * Pure functions, so the arithmetic is tested apart from processes and timers.
 */

export interface RestartPolicy {
  /** Delay before the first restart after a crash. */
  initialDelayMs: number;
  /** Each further crash within the window multiplies the delay by this. */
  factor: number;
  maxDelayMs: number;
  /** This many crashes within `crashWindowMs` and the supervisor gives up. */
  maxCrashes: number;
  crashWindowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 500,
  factor: 2,
  maxDelayMs: 30_000,
  maxCrashes: 5,
  crashWindowMs: 120_000,
};

export type CrashDecision =
  | { action: 'restart'; delayMs: number; crashesInWindow: number }
  | {
      action: 'give-up';
      crashesInWindow: number;
      /** 'window': too many crashes in the window; 'starts': too many starts in a row failed. */
      reason: 'window' | 'starts';
    };

/** Delay before the restart that follows the n-th crash within the window (n ≥ 1). */
export function restartDelay(policy: RestartPolicy, crashesInWindow: number): number {
  const n = Math.max(1, crashesInWindow);
  return Math.min(policy.maxDelayMs, Math.round(policy.initialDelayMs * policy.factor ** (n - 1)));
}

/** The crash times still inside the window ending at `now`. */
export function crashesWithin(policy: RestartPolicy, crashTimes: number[], now: number): number[] {
  return crashTimes.filter((t) => now - t < policy.crashWindowMs);
}

/**
 * `crashTimes` includes the crash being decided on; `failedStarts` counts the starts in a row
 * that ended before the service was ready, this one included. Slow failures (a ready timeout
 * each) never fill the crash window, so failed starts are counted on their own too.
 */
export function decideAfterCrash(
  policy: RestartPolicy,
  crashTimes: number[],
  now: number,
  failedStarts = 0,
): CrashDecision {
  const n = crashesWithin(policy, crashTimes, now).length;
  if (n >= policy.maxCrashes) return { action: 'give-up', crashesInWindow: n, reason: 'window' };
  if (failedStarts >= policy.maxCrashes) {
    return { action: 'give-up', crashesInWindow: n, reason: 'starts' };
  }
  return {
    action: 'restart',
    delayMs: restartDelay(policy, Math.max(n, failedStarts)),
    crashesInWindow: n,
  };
}
