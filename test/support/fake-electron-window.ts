/**
 * The window half of the fake `electron` module (see fake-electron.ts): BrowserWindow, its
 * webContents and session — what a window loaded, what was sent to its page, which navigations
 * and permissions the shell allowed, and the headers its responses end up with.
 */
import { EventEmitter } from 'node:events';
import type {
  BrowserWindowEvents,
  BrowserWindowLike,
  BrowserWindowOptions,
  HeadersReceivedDetails,
  PreventableEvent,
  SessionLike,
  WebContentsEvents,
  WebContentsLike,
} from '../../electron/main/electron-like.js';

/** What a window needs from the fake module that owns it. */
export interface WindowHost {
  readonly windows: FakeBrowserWindow[];
  readonly defaultSession: FakeSession;
  nextWebContentsId: number;
  afterWindowClosed(): void;
}

export class FakeEvent implements PreventableEvent {
  defaultPrevented = false;
  constructor(readonly url?: string) {}
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class FakeSession implements SessionLike {
  headerListeners: Array<
    (
      d: HeadersReceivedDetails,
      cb: (r: { responseHeaders?: Record<string, string[]> }) => void,
    ) => void
  > = [];
  permissionHandler: ((wc: unknown, p: string, cb: (granted: boolean) => void) => void) | null =
    null;
  webRequest = {
    onHeadersReceived: (listener: FakeSession['headerListeners'][number]) => {
      // Electron keeps one listener per session; a second call replaces the first.
      this.headerListeners = [listener];
    },
  };

  setPermissionRequestHandler(handler: NonNullable<FakeSession['permissionHandler']>): void {
    this.permissionHandler = handler;
  }

  /** The headers the page would see for a response from `url`. */
  responseHeaders(url: string, headers: Record<string, string[]>): Record<string, string[]> {
    let out = headers;
    for (const l of this.headerListeners) {
      l({ url, responseHeaders: out }, (r) => (out = r.responseHeaders ?? out));
    }
    return out;
  }

  /** Whether a page asking for `permission` gets it (Electron grants all without a handler). */
  requestPermission(permission: string): boolean {
    if (!this.permissionHandler) return true;
    let granted = false;
    this.permissionHandler(null, permission, (g) => (granted = g));
    return granted;
  }
}

export class FakeWebContents extends EventEmitter implements WebContentsLike {
  readonly sent: Array<{ channel: string; payload: unknown }> = [];
  readonly rendererListeners = new Map<string, Set<(e: unknown, ...a: unknown[]) => void>>();
  windowOpenHandler: ((d: { url: string }) => { action: 'deny' | 'allow' }) | null = null;
  url = '';

  constructor(
    readonly id: number,
    readonly session: FakeSession,
  ) {
    super();
  }

  override on<E extends keyof WebContentsEvents>(
    event: E,
    listener: (...args: WebContentsEvents[E]) => void,
  ): this {
    return super.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  send(channel: string, ...args: unknown[]): void {
    // IPC payloads are structured-cloned: what cannot be cloned fails here as in Electron.
    const payload = structuredClone(args[0]);
    this.sent.push({ channel, payload });
    for (const l of this.rendererListeners.get(channel) ?? []) l({}, payload);
  }

  getURL(): string {
    return this.url;
  }

  setWindowOpenHandler(handler: NonNullable<FakeWebContents['windowOpenHandler']>): void {
    this.windowOpenHandler = handler;
  }

  /** A link or script in the page navigates; returns whether the navigation went ahead. */
  navigate(url: string): boolean {
    const e = new FakeEvent(url);
    this.emit('will-navigate', e, url);
    if (!e.defaultPrevented) this.url = url;
    return !e.defaultPrevented;
  }

  /**
   * The renderer dies (crash, out of memory, killed): Electron keeps the window and its
   * webContents but shows nothing until something loads a page again.
   */
  renderProcessGone(reason = 'crashed'): void {
    this.url = '';
    this.emit('render-process-gone', {}, { reason, exitCode: reason === 'clean-exit' ? 0 : 1 });
  }

  /** The page calls window.open(url); returns Electron's decision. */
  openWindow(url: string): 'deny' | 'allow' {
    return this.windowOpenHandler ? this.windowOpenHandler({ url }).action : 'allow';
  }
}

export class FakeBrowserWindow extends EventEmitter implements BrowserWindowLike {
  readonly webContents: FakeWebContents;
  readonly loadedUrls: string[] = [];
  visible = false;
  minimized = false;
  focusCount = 0;
  /** Makes loadURL fail for a URL: return e.g. 'ERR_CONNECTION_REFUSED (-102)'. */
  loadFailure: ((url: string) => string | null) | null = null;
  private destroyed = false;
  private shownOnce = false;

  constructor(
    private readonly fake: WindowHost,
    readonly options: BrowserWindowOptions,
  ) {
    super();
    this.webContents = new FakeWebContents(fake.nextWebContentsId++, fake.defaultSession);
    fake.windows.push(this);
  }

  override on<E extends keyof BrowserWindowEvents>(
    event: E,
    listener: (...args: BrowserWindowEvents[E]) => void,
  ): this {
    return super.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  override once<E extends keyof BrowserWindowEvents>(
    event: E,
    listener: (...args: BrowserWindowEvents[E]) => void,
  ): this {
    return super.once(event, listener as unknown as (...args: unknown[]) => void);
  }

  loadURL(url: string): Promise<void> {
    if (this.destroyed) return Promise.reject(new Error('Object has been destroyed'));
    this.loadedUrls.push(url);
    const failure = this.loadFailure?.(url);
    if (failure) {
      // Electron's rejection names the URL it could not load.
      return Promise.reject(new Error(`${failure} loading '${url}'`));
    }
    this.webContents.url = url;
    if (!this.shownOnce) {
      this.shownOnce = true;
      queueMicrotask(() => this.emit('ready-to-show'));
    }
    return Promise.resolve();
  }

  show(): void {
    this.visible = true;
  }

  hide(): void {
    this.visible = false;
  }

  focus(): void {
    this.focusCount++;
  }

  restore(): void {
    this.minimized = false;
  }

  minimize(): void {
    this.minimized = true;
  }

  isMinimized(): boolean {
    return this.minimized;
  }

  isVisible(): boolean {
    return this.visible;
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** What clicking the window's close button does. */
  close(): void {
    if (this.destroyed) return;
    const e = new FakeEvent();
    this.emit('close', e);
    if (e.defaultPrevented) return;
    this.destroyed = true;
    this.visible = false;
    this.emit('closed');
    this.fake.afterWindowClosed();
  }

  /** Electron's destroy(): gone without a cancellable 'close' (e.g. a crashed renderer). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.visible = false;
    this.emit('closed');
    this.fake.afterWindowClosed();
  }

  get lastUrl(): string | undefined {
    return this.loadedUrls.at(-1);
  }
}
