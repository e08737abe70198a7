/**
 * The one connection to `/api/events` (SSE), shared by every view. Keeps a short ring of
 * `stats` snapshots so charts have history the moment a view opens, and reconnects with
 * back-off when the service restarts.
 */
import { send } from './http.js';
import { isSignedOut } from './session.js';
import type { JobSummary, LiveSnapshot, LogLine, RolloutEvent } from './types.js';

export interface LiveEventMap {
  stats: LiveSnapshot;
  job: JobSummary;
  log: LogLine;
  rollout: RolloutEvent;
}
export type LiveEventType = keyof LiveEventMap;
export type ConnectionState = 'connecting' | 'open' | 'reconnecting';

/** Ten minutes of one-per-second snapshots. */
const KEEP_SNAPSHOTS = 600;
const EVENT_TYPES: LiveEventType[] = ['stats', 'job', 'log', 'rollout'];

type Handler<K extends LiveEventType> = (data: LiveEventMap[K]) => void;

export class LiveEvents {
  private source: EventSource | null = null;
  private handlers = new Map<LiveEventType, Set<Handler<LiveEventType>>>();
  private stateListeners = new Set<() => void>();
  private snapshotListeners = new Set<() => void>();
  private retryMs = 1000;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private state: ConnectionState = 'connecting';
  private snapshots: LiveSnapshot[] = [];

  private probing = false;

  start(): void {
    if (this.source || this.retryTimer || this.probing) return;
    this.open();
  }

  private open(): void {
    this.retryTimer = null;
    const source = new EventSource('/api/events', { withCredentials: true });
    this.source = source;
    source.onopen = () => {
      this.retryMs = 1000;
      this.setState('open');
    };
    source.onerror = () => {
      // EventSource retries by itself after network errors, but gives up (CLOSED) on an HTTP
      // error such as 401 or a restart that answered 502; then we retry ourselves.
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        this.source = null;
        this.setState('reconnecting');
        // EventSource does not say which status it got: a plain request does, and marks the
        // page signed out on a 401. Then retrying cannot help; the banner says how to sign in.
        this.probing = true;
        void send('/api/status', { headers: { accept: 'application/json' } })
          .catch(() => undefined)
          .finally(() => {
            this.probing = false;
            if (isSignedOut()) return;
            this.retryTimer = setTimeout(() => this.open(), this.retryMs);
            this.retryMs = Math.min(this.retryMs * 2, 15_000);
          });
      } else {
        this.setState('reconnecting');
      }
    };
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (ev) => this.dispatch(type, (ev as MessageEvent<string>).data));
    }
  }

  private dispatch(type: LiveEventType, raw: string): void {
    let data: LiveEventMap[LiveEventType];
    try {
      data = JSON.parse(raw) as LiveEventMap[LiveEventType];
    } catch {
      return;
    }
    if (this.state !== 'open') this.setState('open');
    if (type === 'stats') {
      const next =
        this.snapshots.length >= KEEP_SNAPSHOTS ? this.snapshots.slice(1) : this.snapshots.slice();
      next.push(data as LiveSnapshot);
      this.snapshots = next;
      for (const l of this.snapshotListeners) l();
    }
    const set = this.handlers.get(type);
    if (set) for (const h of set) h(data);
  }

  private setState(state: ConnectionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.stateListeners) l();
  }

  on<K extends LiveEventType>(type: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    const h = handler as Handler<LiveEventType>;
    set.add(h);
    return () => set.delete(h);
  }

  subscribeState = (listener: () => void): (() => void) => {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  };
  getState = (): ConnectionState => this.state;

  subscribeSnapshots = (listener: () => void): (() => void) => {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  };
  getSnapshots = (): LiveSnapshot[] => this.snapshots;
  getLatest = (): LiveSnapshot | null => this.snapshots[this.snapshots.length - 1] ?? null;
}

export const liveEvents = new LiveEvents();
