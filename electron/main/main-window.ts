/**
 * The one app window. It shows the service's UI (signed in through the one-time token URL) when
 * the service is ready and a status page otherwise; it is locked down (context isolation,
 * sandbox, no Node, a CSP, no navigation away from the service, no new windows) and, when the
 * preference says so, closing it only hides it so the server keeps running in the tray.
 */
import type { EventChannel, IpcEventContract } from '../shared/ipc-contract.js';
import type { BrowserWindowLike, ElectronLike, SessionLike } from './electron-like.js';
import type { ServiceSnapshot, ServiceSupervisor } from './service-supervisor.js';
import { redactSignInTokens } from './service-log.js';
import { statusPageModel, statusPageUrl, withContentSecurityPolicy } from './window-content.js';

export interface MainWindowDeps {
  electron: Pick<ElectronLike, 'BrowserWindow' | 'shell'>;
  preloadPath: string;
  iconPath?: string;
  supervisor: Pick<ServiceSupervisor, 'snapshot' | 'requestUiToken'>;
  keepServingOnClose: () => boolean;
  isQuitting: () => boolean;
  log: (line: string) => void;
}

type Shown = { kind: 'ui'; generation: number } | { kind: 'status'; key: string } | null;

/** A renderer that dies again this soon after a reload is left alone until the user asks. */
const RELOAD_AFTER_GONE_MIN_INTERVAL_MS = 10_000;

/** Permissions the UI legitimately asks for (its copy buttons); everything else is refused. */
const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

export class MainWindow {
  private win: BrowserWindowLike | null = null;
  private shown: Shown = null;
  /** Sign-in URLs already handed to a window: each works once. */
  private readonly usedUiUrls = new Set<string>();
  private readonly hardenedSessions = new WeakSet<SessionLike>();
  private serviceOrigin: string | null = null;
  private lastReloadAfterGone = -Infinity;

  constructor(private readonly deps: MainWindowDeps) {}

  get window(): BrowserWindowLike | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  /** Ids of the web contents allowed to call the IPC API. */
  isTrustedSender(senderId: number): boolean {
    return this.window !== null && this.window.webContents.id === senderId;
  }

  showOrCreate(): void {
    const existing = this.window;
    if (existing) {
      // Nothing valid shown (its renderer died): load the page for the current state again.
      if (this.shown === null) this.update(this.deps.supervisor.snapshot());
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return;
    }
    this.create();
  }

  send<C extends EventChannel>(channel: C, payload: IpcEventContract[C]): void {
    this.window?.webContents.send(channel, payload);
  }

  /** Follows the supervisor: the UI when ready, the status page otherwise. */
  update(s: ServiceSnapshot): void {
    this.serviceOrigin = s.apiUrl ? new URL(s.apiUrl).origin : this.serviceOrigin;
    const win = this.window;
    if (!win) return;
    if (s.state === 'ready' && s.uiUrl) {
      if (this.shown?.kind === 'ui' && this.shown.generation === s.generation) return;
      this.shown = { kind: 'ui', generation: s.generation };
      void this.loadUi(win, s);
      return;
    }
    const m = statusPageModel(s);
    const key = `${s.state}|${m.title}|${m.detail ?? ''}`;
    if (this.shown?.kind === 'status' && this.shown.key === key) return;
    this.shown = { kind: 'status', key };
    this.load(win, statusPageUrl(s));
  }

  private async loadUi(win: BrowserWindowLike, s: ServiceSnapshot): Promise<void> {
    let url = s.uiUrl!;
    if (this.usedUiUrls.has(url)) {
      try {
        url = await this.deps.supervisor.requestUiToken();
      } catch (err) {
        // Without a fresh token the session cookie from the first sign-in may still work.
        this.deps.log(`no new sign-in link: ${(err as Error).message}`);
        url = new URL('/', url).toString();
      }
    }
    this.usedUiUrls.add(url);
    if (win.isDestroyed() || this.shown?.kind !== 'ui' || this.shown.generation !== s.generation) {
      return;
    }
    this.load(win, url);
  }

  private load(win: BrowserWindowLike, url: string): void {
    win.loadURL(url).catch((err: Error) => {
      // A load replaced by the next one rejects (ERR_ABORTED); that is expected.
      // Electron's message names the URL, which may be the sign-in link: keep its token out.
      if (!/ERR_ABORTED|\(-3\)/.test(err.message)) {
        this.deps.log(`load failed: ${redactSignInTokens(err.message)}`);
      }
    });
  }

  private create(): void {
    const win = new this.deps.electron.BrowserWindow({
      width: 1200,
      height: 820,
      minWidth: 720,
      minHeight: 480,
      show: false,
      title: 'Orchard',
      icon: this.deps.iconPath,
      backgroundColor: '#faf6e9',
      webPreferences: {
        preload: this.deps.preloadPath,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
        spellcheck: false,
      },
    });
    this.win = win;
    this.shown = null;
    this.harden(win);
    win.once('ready-to-show', () => {
      win.show();
      win.focus();
    });
    win.on('close', (event) => {
      if (!this.deps.isQuitting() && this.deps.keepServingOnClose()) {
        event.preventDefault();
        win.hide();
      }
    });
    win.webContents.on('render-process-gone', (_event, details) => {
      if (win.isDestroyed() || this.win !== win || details.reason === 'clean-exit') return;
      this.deps.log(`the window's page stopped (${details.reason})`);
      this.shown = null;
      const now = Date.now();
      if (now - this.lastReloadAfterGone < RELOAD_AFTER_GONE_MIN_INTERVAL_MS) return;
      this.lastReloadAfterGone = now;
      this.update(this.deps.supervisor.snapshot());
    });
    win.on('closed', () => {
      if (this.win === win) {
        this.win = null;
        this.shown = null;
      }
    });
    this.update(this.deps.supervisor.snapshot());
  }

  private harden(win: BrowserWindowLike): void {
    const wc = win.webContents;
    const openOutside = (url: string): void => {
      if (/^https?:\/\//i.test(url)) void this.deps.electron.shell.openExternal(url);
    };
    wc.setWindowOpenHandler(({ url }) => {
      openOutside(url);
      return { action: 'deny' };
    });
    wc.on('will-navigate', (event, url) => {
      const target = event.url ?? url;
      if (this.serviceOrigin !== null && sameOrigin(target, this.serviceOrigin)) return;
      event.preventDefault();
      openOutside(target);
    });
    const session = wc.session;
    if (this.hardenedSessions.has(session)) return;
    this.hardenedSessions.add(session);
    session.setPermissionRequestHandler((_wc, permission, callback) =>
      callback(ALLOWED_PERMISSIONS.has(permission)),
    );
    session.webRequest.onHeadersReceived((details, callback) => {
      if (this.serviceOrigin !== null && sameOrigin(details.url, this.serviceOrigin)) {
        callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders) });
      } else {
        callback({ responseHeaders: details.responseHeaders });
      }
    });
  }
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
