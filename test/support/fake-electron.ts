/**
 * A fake of the `electron` module — the one edge the project fakes, because Electron cannot run
 * here. It implements electron/main/electron-like.ts and records what the shell does (windows
 * and what they loaded, tray images and menus, clipboard writes, login item settings, IPC
 * handlers, opened folders), and it follows Electron's documented behaviour where the shell
 * depends on it: the quit sequence (before-quit → close every window → will-quit), a window's
 * close being cancellable, window-all-closed quitting only when nobody listens, one ipcMain
 * handler per channel, and a sandboxed preload that may require nothing but 'electron'.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import ts from 'typescript';
import type {
  AppEvents,
  AppLike,
  BrowserWindowOptions,
  ElectronLike,
  IpcMainInvokeEventLike,
  LoginItemSettings,
  LoginItemSettingsOptions,
  MenuItemOptions,
  MenuLike,
  NativeImageLike,
  TrayLike,
  UtilityForkOptions,
  UtilityProcessLike,
} from '../../electron/main/electron-like.js';
import {
  FakeBrowserWindow,
  FakeEvent,
  FakeSession,
  type WindowHost,
} from './fake-electron-window.js';

export {
  FakeBrowserWindow,
  FakeEvent,
  FakeSession,
  FakeWebContents,
} from './fake-electron-window.js';

type Listener = (...args: never[]) => void;

export class FakeApp extends EventEmitter implements AppLike {
  isPackaged = false;
  /** Set to simulate another running instance holding the single-instance lock. */
  anotherInstanceRunning = false;
  quitRequests = 0;
  quitted = false;
  exitCode: number | null = null;
  loginItem: LoginItemSettings = { openAtLogin: false, wasOpenedAtLogin: false };
  readonly loginItemCalls: Array<LoginItemSettingsOptions & { openAtLogin: boolean }> = [];
  private readyResolve: () => void = () => undefined;
  private readonly ready: Promise<void>;

  constructor(
    private readonly fake: FakeElectron,
    private readonly appPath: string,
  ) {
    super();
    this.ready = new Promise((r) => (this.readyResolve = r));
    queueMicrotask(() => this.readyResolve());
  }

  override on<E extends keyof AppEvents>(
    event: E,
    listener: (...args: AppEvents[E]) => void,
  ): this {
    return super.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  requestSingleInstanceLock(): boolean {
    return !this.anotherInstanceRunning;
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Electron: before-quit (cancellable) → close all windows (each cancellable) → will-quit. */
  quit(): void {
    this.quitRequests++;
    const e = new FakeEvent();
    this.emit('before-quit', e);
    if (e.defaultPrevented) return;
    for (const w of this.fake.openWindows()) {
      w.close();
      if (!w.isDestroyed()) return;
    }
    this.emit('will-quit', new FakeEvent());
    this.quitted = true;
  }

  exit(code = 0): void {
    this.exitCode = code;
    this.quitted = true;
  }

  getVersion(): string {
    return '0.1.0';
  }

  getName(): string {
    return 'Orchard';
  }

  getAppPath(): string {
    return this.appPath;
  }

  getLoginItemSettings(_options?: LoginItemSettingsOptions): LoginItemSettings {
    return { ...this.loginItem };
  }

  setLoginItemSettings(settings: LoginItemSettingsOptions & { openAtLogin: boolean }): void {
    this.loginItemCalls.push(settings);
    this.loginItem = { ...this.loginItem, openAtLogin: settings.openAtLogin };
  }

  /** What the OS does when the user launches the app again. */
  launchSecondInstance(argv: string[] = ['orchard']): void {
    this.emit('second-instance', new FakeEvent(), argv, process.cwd());
  }
}

export class FakeNativeImage implements NativeImageLike {
  constructor(readonly path: string) {}
  /** Like Electron, a path that is not a readable image gives an empty image. */
  isEmpty(): boolean {
    try {
      const head = fs.readFileSync(this.path).subarray(0, 8);
      return !head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    } catch {
      return true;
    }
  }
}

export class FakeMenu implements MenuLike {
  constructor(readonly template: MenuItemOptions[]) {}
  get items(): unknown[] {
    return this.template;
  }
}

export class FakeTray extends EventEmitter implements TrayLike {
  readonly images: FakeNativeImage[] = [];
  toolTip = '';
  menu: FakeMenu | null = null;
  destroyed = false;

  constructor(image: NativeImageLike) {
    super();
    this.images.push(image as FakeNativeImage);
  }

  override on(event: string, listener: Listener): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  setImage(image: NativeImageLike): void {
    this.images.push(image as FakeNativeImage);
  }

  setToolTip(toolTip: string): void {
    this.toolTip = toolTip;
  }

  setContextMenu(menu: MenuLike | null): void {
    this.menu = menu as FakeMenu | null;
  }

  destroy(): void {
    this.destroyed = true;
  }

  get image(): FakeNativeImage {
    return this.images.at(-1)!;
  }

  /** The menu item with this id, searched through submenus. */
  item(id: string): MenuItemOptions | undefined {
    return findItem(this.menu?.template ?? [], id);
  }

  /** Clicks a menu item as the user would; Electron flips a checkbox before calling click. */
  click(id: string): void {
    const item = this.item(id);
    if (!item) throw new Error(`no tray menu item '${id}'`);
    if (item.enabled === false) throw new Error(`tray menu item '${id}' is disabled`);
    if (!item.click) throw new Error(`tray menu item '${id}' does nothing`);
    item.click();
  }

  labels(): string[] {
    return (this.menu?.template ?? [])
      .filter((i) => i.type !== 'separator')
      .map((i) => i.label ?? '');
  }
}

export function findItem(items: MenuItemOptions[], id: string): MenuItemOptions | undefined {
  for (const i of items) {
    if (i.id === id) return i;
    const inner = i.submenu ? findItem(i.submenu, id) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

/** A utility process the test drives by hand (for the launcher's adapter). */
export class FakeUtilityProcess extends EventEmitter implements UtilityProcessLike {
  pid: number | undefined = 4242;
  stdout = null;
  stderr = null;
  readonly posted: unknown[] = [];
  killed = 0;

  constructor(
    readonly modulePath: string,
    readonly args: string[],
    readonly options: UtilityForkOptions | undefined,
  ) {
    super();
  }

  override on(event: 'spawn', listener: () => void): this;
  override on(event: 'exit', listener: (code: number) => void): this;
  override on(event: 'message', listener: (message: unknown) => void): this;
  override on(event: string, listener: Listener): this {
    return super.on(event, listener as unknown as (...args: unknown[]) => void);
  }

  postMessage(message: unknown): void {
    this.posted.push(structuredClone(message));
  }

  kill(): boolean {
    this.killed++;
    return true;
  }
}

type IpcHandler = (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown;

export class FakeElectron implements ElectronLike, WindowHost {
  readonly app: FakeApp;
  readonly windows: FakeBrowserWindow[] = [];
  readonly trays: FakeTray[] = [];
  readonly menus: FakeMenu[] = [];
  readonly clipboardWrites: string[] = [];
  readonly openedPaths: string[] = [];
  readonly shownItems: string[] = [];
  readonly externalUrls: string[] = [];
  readonly errorBoxes: Array<{ title: string; content: string }> = [];
  readonly utilityProcesses: FakeUtilityProcess[] = [];
  readonly ipcHandlers = new Map<string, IpcHandler>();
  readonly defaultSession = new FakeSession();
  nextWebContentsId = 1;

  readonly BrowserWindow: ElectronLike['BrowserWindow'];
  readonly Tray: ElectronLike['Tray'];
  readonly Menu: ElectronLike['Menu'];
  readonly nativeImage: ElectronLike['nativeImage'];
  readonly clipboard: ElectronLike['clipboard'];
  readonly shell: ElectronLike['shell'];
  readonly utilityProcess: ElectronLike['utilityProcess'];
  readonly ipcMain: ElectronLike['ipcMain'];
  readonly dialog: ElectronLike['dialog'];

  constructor(appPath: string) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const fake = this;
    this.app = new FakeApp(this, appPath);
    this.BrowserWindow = class extends FakeBrowserWindow {
      constructor(options: BrowserWindowOptions) {
        super(fake, options);
      }
    };
    this.Tray = class extends FakeTray {
      constructor(image: NativeImageLike) {
        super(image);
        fake.trays.push(this);
      }
    };
    this.Menu = {
      buildFromTemplate: (template) => {
        const m = new FakeMenu(template);
        this.menus.push(m);
        return m;
      },
    };
    this.nativeImage = { createFromPath: (p) => new FakeNativeImage(p) };
    this.clipboard = { writeText: (t) => void this.clipboardWrites.push(t) };
    this.shell = {
      openPath: async (p) => {
        this.openedPaths.push(p);
        return fs.existsSync(p) ? '' : 'Failed to open path';
      },
      showItemInFolder: (p) => void this.shownItems.push(p),
      openExternal: async (url) => void this.externalUrls.push(url),
    };
    this.utilityProcess = {
      fork: (modulePath, args = [], options) => {
        const p = new FakeUtilityProcess(modulePath, args, options);
        this.utilityProcesses.push(p);
        return p;
      },
    };
    this.ipcMain = {
      handle: (channel, listener) => {
        if (this.ipcHandlers.has(channel)) {
          throw new Error(`Attempted to register a second handler for '${channel}'`);
        }
        this.ipcHandlers.set(channel, listener);
      },
      removeHandler: (channel) => void this.ipcHandlers.delete(channel),
    };
    this.dialog = {
      showErrorBox: (title, content) => void this.errorBoxes.push({ title, content }),
    };
  }

  openWindows(): FakeBrowserWindow[] {
    return this.windows.filter((w) => !w.isDestroyed());
  }

  get tray(): FakeTray {
    const t = this.trays.at(-1);
    if (!t) throw new Error('no tray was created');
    return t;
  }

  afterWindowClosed(): void {
    if (this.openWindows().length > 0) return;
    // Electron quits on its own only when nobody listens for window-all-closed.
    if (this.app.listenerCount('window-all-closed') === 0) this.app.quit();
    else this.app.emit('window-all-closed');
  }

  /** ipcRenderer.invoke from the page in `win`: arguments and result are structured-cloned. */
  async invoke(
    win: FakeBrowserWindow | { webContents: { id: number } },
    channel: string,
    ...args: unknown[]
  ) {
    const handler = this.ipcHandlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    const result = await handler({ sender: { id: win.webContents.id } }, ...structuredClone(args));
    return structuredClone(result);
  }

  /** The ipcRenderer a preload running in `win` gets. */
  ipcRendererFor(win: FakeBrowserWindow) {
    const wc = win.webContents;
    return {
      invoke: (channel: string, ...args: unknown[]) => this.invoke(win, channel, ...args),
      on: (channel: string, listener: (e: unknown, ...a: unknown[]) => void) => {
        const set = wc.rendererListeners.get(channel) ?? new Set();
        set.add(listener);
        wc.rendererListeners.set(channel, set);
      },
      removeListener: (channel: string, listener: (e: unknown, ...a: unknown[]) => void) => {
        wc.rendererListeners.get(channel)?.delete(listener);
      },
    };
  }

  /**
   * Runs a preload the way a sandboxed renderer does: as a CommonJS function body whose
   * `require` knows only 'electron'. `sourceFile` is the TypeScript source, compiled here to
   * what tsc emits for it. Returns what the preload exposed with contextBridge.
   */
  runPreload(win: FakeBrowserWindow, sourceFile: string): Record<string, unknown> {
    const out = ts.transpileModule(fs.readFileSync(sourceFile, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      fileName: sourceFile,
    }).outputText;
    const exposed: Record<string, unknown> = {};
    const electronForPreload = {
      contextBridge: {
        exposeInMainWorld: (key: string, api: unknown) => {
          exposed[key] = api;
        },
      },
      ipcRenderer: this.ipcRendererFor(win),
    };
    const sandboxRequire = (id: string) => {
      if (id === 'electron') return electronForPreload;
      throw new Error(`module not found: ${id} (a sandboxed preload can only require electron)`);
    };
    const module = { exports: {} };
    const run = new Function('require', 'process', 'exports', 'module', out) as (
      r: typeof sandboxRequire,
      p: { type: string; platform: string },
      e: unknown,
      m: unknown,
    ) => void;
    run(sandboxRequire, { type: 'renderer', platform: process.platform }, module.exports, module);
    return exposed;
  }
}

export function createFakeElectron(appPath: string): FakeElectron {
  return new FakeElectron(appPath);
}
