/** React bindings for the API: loading a resource, and the live event stream. */
import { useCallback, useEffect, useEffectEvent, useState, useSyncExternalStore } from 'react';
import { liveEvents, type LiveEventMap, type LiveEventType } from './live-events.js';
import { isSignedOut, subscribeSession } from './session.js';

export interface Resource<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first answer (success or error); reloads keep the previous data on screen. */
  loading: boolean;
  reload: () => void;
}

/**
 * Loads `load()` when it changes (pass a `useCallback`), keeps the last good data while
 * reloading, and ignores answers that arrive after a newer request started.
 */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({
    loading: true,
  });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    const ctrl = new AbortController();
    load(ctrl.signal).then(
      (data) => {
        if (!ctrl.signal.aborted) setState({ data, loading: false });
      },
      (error: unknown) => {
        if (ctrl.signal.aborted) return;
        const err = error instanceof Error ? error : new Error(String(error));
        setState((s) => ({ data: s.data, error: err, loading: false }));
      },
    );
    return () => ctrl.abort();
  }, [load, nonce]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** Calls `handler` for each live event of `type` while the component is mounted. */
export function useLiveEvent<K extends LiveEventType>(
  type: K,
  handler: (data: LiveEventMap[K]) => void,
): void {
  const onEvent = useEffectEvent(handler);
  useEffect(() => liveEvents.on(type, (d) => onEvent(d)), [type]);
}

export function useLiveSnapshot() {
  return useSyncExternalStore(liveEvents.subscribeSnapshots, liveEvents.getLatest);
}

export function useLiveHistory() {
  return useSyncExternalStore(liveEvents.subscribeSnapshots, liveEvents.getSnapshots);
}

export function useConnectionState() {
  return useSyncExternalStore(liveEvents.subscribeState, liveEvents.getState);
}

export function useSignedOut(): boolean {
  return useSyncExternalStore(subscribeSession, isSignedOut);
}

/** Re-renders every `ms` so relative times ("3 min ago") stay true. Returns the current time. */
export function useNow(ms: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
