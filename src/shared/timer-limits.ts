/**
 * The longest delay setTimeout honours (2^31-1 ms, about 24.8 days). Node fires a longer timer
 * after 1 ms, so keep-alive durations at or beyond it mean "keep loaded", never a timer.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
