/**
 * The tray icon and its menu, kept in step with the supervisor: the icon shows serving /
 * stopped / error, the menu is rebuilt (via the pure buildTrayMenu) whenever the service's
 * state, the model list or a preference changes, and menu actions go to the supervisor, the
 * admin API, the clipboard and the login item.
 */
import path from 'node:path';
import type { LoginItemView } from '../shared/ipc-contract.js';
import type { AdminClient } from './admin-client.js';
import type { DesktopPrefsStore } from './desktop-prefs.js';
import type { ElectronLike, MenuItemOptions, TrayLike } from './electron-like.js';
import type { LoginItems } from './login-items.js';
import type { ServiceSnapshot, ServiceSupervisor } from './service-supervisor.js';
import {
  NO_MODELS,
  buildTrayMenu,
  trayIconKind,
  trayToolTip,
  type TrayActions,
  type TrayIconKind,
  type TrayMenuState,
} from './tray-menu.js';

export interface TrayControllerDeps {
  electron: Pick<ElectronLike, 'Tray' | 'Menu' | 'nativeImage' | 'clipboard'>;
  /** Folder holding tray-{serving,stopped,error}.png (and @2x). */
  trayIconsDir: string;
  supervisor: Pick<ServiceSupervisor, 'snapshot' | 'subscribe' | 'start' | 'stop'>;
  admin: AdminClient;
  apiKey: () => string | null;
  loginItems: LoginItems;
  prefs: DesktopPrefsStore;
  openWindow: () => void;
  quit: () => void;
  onLoginItemChanged?: (view: LoginItemView) => void;
  /** Re-reads the model list this often while serving, to follow loads done in the UI. */
  refreshIntervalMs?: number;
  /** Windows has no tray menu on left click; there a click opens the window. */
  platform: NodeJS.Platform;
  log: (line: string) => void;
}

export function trayIconPath(dir: string, kind: TrayIconKind): string {
  return path.join(dir, `tray-${kind}.png`);
}

export class TrayController {
  private tray: TrayLike | null = null;
  private iconKind: TrayIconKind | null = null;
  private state: TrayMenuState;
  private generation = -1;
  private lastServing = '';
  private refreshTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private unsubscribePrefs: (() => void) | null = null;
  /** The last template handed to Menu.buildFromTemplate (what the user sees). */
  template: MenuItemOptions[] = [];
  readonly actions: TrayActions;

  constructor(private readonly deps: TrayControllerDeps) {
    this.state = {
      service: deps.supervisor.snapshot(),
      models: NO_MODELS,
      hasApiKey: deps.apiKey() !== null,
      loginItem: deps.loginItems.get(),
      keepServingOnClose: deps.prefs.get().keepServingOnClose,
      busy: null,
      notice: null,
    };
    this.actions = {
      openWindow: () => deps.openWindow(),
      startServer: () => {
        this.patch({ notice: null });
        deps.supervisor.start();
      },
      stopServer: () => {
        this.patch({ notice: null });
        void deps.supervisor.stop();
      },
      loadVersion: (m, v) => void this.versionAction('load', m, v),
      unloadVersion: (m, v) => void this.versionAction('unload', m, v),
      refreshModels: () => void this.refreshModels(),
      copyApiUrl: () => {
        const url = deps.supervisor.snapshot().apiUrl;
        if (url) deps.electron.clipboard.writeText(url);
      },
      copyApiKey: () => {
        const key = deps.apiKey();
        if (key) deps.electron.clipboard.writeText(key);
        else this.patch({ notice: 'No API key found in the data folder yet.' });
      },
      setOpenAtLogin: (on) => {
        try {
          const view = deps.loginItems.set(on);
          this.patch({ loginItem: view });
          deps.onLoginItemChanged?.(view);
        } catch (err) {
          this.patch({ notice: `Could not change start at login: ${(err as Error).message}` });
        }
      },
      setKeepServingOnClose: (on) => {
        deps.prefs.set({ keepServingOnClose: on });
      },
      quit: () => deps.quit(),
    };
  }

  start(): void {
    const kind = trayIconKind(this.state.service.state);
    this.tray = new this.deps.electron.Tray(this.icon(kind));
    this.iconKind = kind;
    if (this.deps.platform === 'win32') this.tray.on('click', () => this.deps.openWindow());
    this.unsubscribe = this.deps.supervisor.subscribe((s) => this.onService(s));
    this.unsubscribePrefs = this.deps.prefs.subscribe((p) =>
      this.patch({ keepServingOnClose: p.keepServingOnClose }),
    );
    this.onService(this.deps.supervisor.snapshot());
    this.render();
  }

  /** Re-reads what may have changed outside the tray (e.g. start at login set from the UI). */
  refreshLocalState(): void {
    this.patch({
      loginItem: this.deps.loginItems.get(),
      hasApiKey: this.deps.apiKey() !== null,
    });
  }

  dispose(): void {
    this.unsubscribe?.();
    this.unsubscribePrefs?.();
    this.stopRefreshTimer();
    this.tray?.destroy();
    this.tray = null;
  }

  get menuState(): TrayMenuState {
    return this.state;
  }

  async refreshModels(): Promise<void> {
    const gen = this.deps.supervisor.snapshot().generation;
    if (this.deps.supervisor.snapshot().state !== 'ready') return;
    if (this.state.models.status !== 'ready') {
      this.patch({ models: { ...this.state.models, status: 'loading' } });
    }
    try {
      const [models, deployments] = await Promise.all([
        this.deps.admin.listModels(),
        this.deps.admin.listDeployments(),
      ]);
      if (gen !== this.deps.supervisor.snapshot().generation) return;
      this.patch({ models: { status: 'ready', models, deployments, error: null } });
    } catch (err) {
      if (gen !== this.deps.supervisor.snapshot().generation) return;
      this.patch({
        models: { ...this.state.models, status: 'failed', error: (err as Error).message },
      });
    }
  }

  private async versionAction(action: 'load' | 'unload', model: string, version: string) {
    const label = `${model}@${version}`;
    this.patch({ busy: `${action === 'load' ? 'Loading' : 'Unloading'} ${label}…`, notice: null });
    try {
      if (action === 'load') await this.deps.admin.loadVersion(model, version);
      else await this.deps.admin.unloadVersion(model, version);
      this.patch({ busy: null });
    } catch (err) {
      this.patch({ busy: null, notice: `Could not ${action} ${label}: ${(err as Error).message}` });
    }
    await this.refreshModels();
  }

  private onService(s: ServiceSnapshot): void {
    const serving = s.serving.join('\n');
    const newProcess = s.generation !== this.generation;
    const becameReady = s.state === 'ready' && (this.state.service.state !== 'ready' || newProcess);
    const servingChanged = serving !== this.lastServing;
    this.generation = s.generation;
    this.lastServing = serving;
    const models = s.state === 'ready' && !newProcess ? this.state.models : NO_MODELS;
    this.patch({ service: s, models, hasApiKey: this.deps.apiKey() !== null });
    if (s.state === 'ready') {
      this.startRefreshTimer();
      if (becameReady || servingChanged) void this.refreshModels();
    } else {
      this.stopRefreshTimer();
    }
  }

  private startRefreshTimer(): void {
    const every = this.deps.refreshIntervalMs ?? 30_000;
    if (this.refreshTimer || every <= 0) return;
    this.refreshTimer = setInterval(() => void this.refreshModels(), every);
    this.refreshTimer.unref();
  }

  private stopRefreshTimer(): void {
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = null;
  }

  private patch(change: Partial<TrayMenuState>): void {
    this.state = { ...this.state, ...change };
    this.render();
  }

  private icon(kind: TrayIconKind) {
    return this.deps.electron.nativeImage.createFromPath(
      trayIconPath(this.deps.trayIconsDir, kind),
    );
  }

  private render(): void {
    const tray = this.tray;
    if (!tray) return;
    const kind = trayIconKind(this.state.service.state);
    if (kind !== this.iconKind) {
      tray.setImage(this.icon(kind));
      this.iconKind = kind;
    }
    tray.setToolTip(trayToolTip(this.state));
    this.template = buildTrayMenu(this.state, this.actions);
    tray.setContextMenu(this.deps.electron.Menu.buildFromTemplate(this.template));
  }
}
