/**
 * The longest delay setTimeout honours (2^31-1 ms, about 24.8 days). Node fires a longer timer
 * after 1 ms, so keep-alive durations at or beyond it mean "keep loaded", never a timer.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What a model does once its last request ends. */
export type IdlePlan =
  { kind: 'keep-loaded' } | { kind: 'unload-now' } | { kind: 'unload-after'; ms: number };

/**
 * Ollama's keep_alive, in one place: a request's value wins over the setting; a negative one
 * keeps the model loaded, and so does one beyond what a timer can hold; a request's 0 unloads at
 * once, while the setting's 0 means "keep loaded".
 */
export function idlePlan(requestMs: number | undefined, settingMs: number): IdlePlan {
  const ms = requestMs ?? settingMs;
  if (ms < 0 || ms >= MAX_TIMER_MS || (requestMs === undefined && ms === 0)) {
    return { kind: 'keep-loaded' };
  }
  return ms === 0 ? { kind: 'unload-now' } : { kind: 'unload-after', ms };
}
