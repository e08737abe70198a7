/**
 * The service's in-process event bus behind GET /api/events (SSE). The service publishes
 * 'stats' every second and 'log' lines; admin route plugins publish 'job' and 'rollout'.
 */
import type { JobSummary, LiveSnapshot, LogLine, RolloutEvent } from '../shared/admin-api.js';

export interface HubEvents {
  stats: LiveSnapshot;
  log: LogLine;
  job: JobSummary;
  rollout: RolloutEvent;
}

export type HubEventName = keyof HubEvents;

export type HubMessage = { [K in HubEventName]: { event: K; data: HubEvents[K] } }[HubEventName];

export type HubListener = (message: HubMessage) => void;

export class EventHub {
  private readonly listeners = new Set<HubListener>();

  publish<K extends HubEventName>(event: K, data: HubEvents[K]): void {
    const message = { event, data } as HubMessage;
    for (const listener of [...this.listeners]) {
      try {
        listener(message);
      } catch {
        // One broken subscriber must not stop the others.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: HubListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }
}
