/**
 * The UI's one event stream: after the stream closes it reconnects with back-off, unless the
 * page's session is gone (a 401), where retrying every 15 s could never help.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveEvents } from '../../../renderer/src/api/live-events.js';
import { isSignedOut, setSignedOut } from '../../../renderer/src/api/session.js';

class FakeEventSource {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  static opened: FakeEventSource[] = [];
  readyState = FakeEventSource.CONNECTING;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeEventSource.opened.push(this);
  }
  addEventListener(): void {}
  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
  /** What a browser does when the server answers the stream with an HTTP error. */
  failWithHttpError(): void {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
}

let status = 200;

beforeEach(() => {
  vi.useFakeTimers();
  FakeEventSource.opened = [];
  setSignedOut(false);
  vi.stubGlobal('EventSource', FakeEventSource);
  vi.stubGlobal('fetch', async () => new Response('{"error":{"message":"x"}}', { status }));
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('LiveEvents', () => {
  it('reconnects after the service answered with an error (a restart)', async () => {
    status = 502;
    const live = new LiveEvents();
    live.start();
    FakeEventSource.opened[0].failWithHttpError();
    expect(live.getState()).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(1_100);
    expect(FakeEventSource.opened).toHaveLength(2);
    expect(isSignedOut()).toBe(false);
  });

  it('stops retrying once the session is gone, and says so', async () => {
    status = 401;
    const live = new LiveEvents();
    live.start();
    FakeEventSource.opened[0].failWithHttpError();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeEventSource.opened).toHaveLength(1);
    expect(isSignedOut()).toBe(true);
  });
});
